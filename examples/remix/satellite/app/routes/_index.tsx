import { SignedIn, SignedOut, SignInButton, UserButton } from '@clerk/remix'
import { Link } from '@remix-run/react'

// The satellite's public home page: what the browser's Clerk SDK shows, kept current as it
// changes.
export default function Home() {
  return (
    <main>
      <h1>Satellite</h1>
      <SignedOut>
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
      </SignedOut>
      <SignedIn>
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </SignedIn>
      <p>
        <Link to="/profile">Your profile</Link> (protected)
      </p>
    </main>
  )
}
