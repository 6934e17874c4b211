import { SignedIn, SignedOut, SignInButton, SignUpButton, UserButton } from '@clerk/remix'
import { getAuth } from '@clerk/remix/ssr.server'
import type { LoaderFunctionArgs } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'

// The primary's home page: what its server saw (this route's loader, run at the same time as the
// root's rootAuthLoader: both resolve the same handshake) and what the browser's Clerk SDK shows,
// kept current as it changes.
export const loader = async (args: LoaderFunctionArgs) => {
  const { userId } = await getAuth(args)
  return { userId }
}

export default function Home() {
  const { userId } = useLoaderData<typeof loader>()
  return (
    <main>
      <h1>Primary</h1>
      <p id="server-user">{userId ? `Server sees ${userId}` : 'Server sees no user'}</p>
      <SignedOut>
        <p id="signed-out">You are signed out.</p>
        <SignInButton />
        <SignUpButton />
      </SignedOut>
      <SignedIn>
        <p id="signed-in">You are signed in.</p>
        <UserButton />
      </SignedIn>
    </main>
  )
}
