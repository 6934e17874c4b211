'use client'

import { Show, SignInButton, UserButton } from '@clerk/nextjs'

// What the browser's Clerk SDK knows, kept current as it changes (see the primary's copy).
export function AuthStatus() {
  return (
    <>
      <Show when="signed-out">
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
      </Show>
      <Show when="signed-in">
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </Show>
    </>
  )
}
