'use client'

import { Show, SignInButton, SignUpButton, UserButton } from '@clerk/nextjs'

// What the browser's Clerk SDK knows, kept current as it changes (a sign-out elsewhere shows as
// soon as clerk-js has loaded the client). In a server component, <Show> would render once,
// from what the server saw. @clerk/nextjs 7 removed <SignedIn>/<SignedOut>;
// <Show when="signed-in"> / <Show when="signed-out"> are their replacement.
export function AuthStatus() {
  return (
    <>
      <Show when="signed-out">
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
        <SignUpButton />
      </Show>
      <Show when="signed-in">
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </Show>
    </>
  )
}
