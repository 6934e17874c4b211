import { Show, SignInButton, UserButton } from '@clerk/nextjs'
import Link from 'next/link'

// The satellite's public home page (the middleware leaves `/` public).
export default function Home() {
  return (
    <main>
      <h1>Satellite</h1>
      <Show when="signed-out">
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
      </Show>
      <Show when="signed-in">
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </Show>
      <p>
        <Link href="/profile">Your profile</Link> (protected)
      </p>
    </main>
  )
}
