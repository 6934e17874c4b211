import { RedirectToSignIn, SignedIn, SignedOut, UserButton, UserProfile } from '@clerk/remix'
import { getAuth } from '@clerk/remix/ssr.server'
import type { LoaderFunctionArgs } from '@remix-run/node'

// The satellite's protected page: the seed's "you can see the <UserProfile /> component and
// update your information". A signed-out visitor is sent to the primary's sign-in, which sends
// them back here, as the seed's `auth.protect()` does in Next.js.
//
// Not by a redirect from this loader: a production satellite resolves a handshake on every
// document request, and when a loader throws a redirect, Remix answers with that redirect alone,
// without the root loader's Set-Cookie headers, the handshake's directives among them. The
// handshake nonce cookie (a minute) then stays, and every request of that minute resolves it to
// the same signed-out state: back from signing in, the visitor would be sent to sign in again.
// So the page answers (with the directives) and <RedirectToSignIn/> sends the visitor on; the
// loader still hands a signed-out visitor nothing.
export const loader = async (args: LoaderFunctionArgs) => {
  const { userId } = await getAuth(args)
  return { signedIn: userId !== null }
}

export default function Profile() {
  return (
    <main>
      <h1>Profile on the satellite</h1>
      <SignedIn>
        <UserButton />
        <UserProfile />
      </SignedIn>
      <SignedOut>
        <RedirectToSignIn />
      </SignedOut>
    </main>
  )
}
