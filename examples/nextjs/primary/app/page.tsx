import { Show, SignInButton, SignUpButton, UserButton } from '@clerk/nextjs'
import { auth } from '@clerk/nextjs/server'

// The home page the seed's primary needs. @clerk/nextjs 7 removed <SignedIn>/<SignedOut>;
// <Show when="signed-in"> / <Show when="signed-out"> are their replacement.
export default async function Home() {
  const { userId } = await auth()
  return (
    <main>
      <h1>Primary</h1>
      <p id="server-user">{userId ? `Server sees ${userId}` : 'Server sees no user'}</p>
      <Show when="signed-out">
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
        <SignUpButton />
      </Show>
      <Show when="signed-in">
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </Show>
    </main>
  )
}
