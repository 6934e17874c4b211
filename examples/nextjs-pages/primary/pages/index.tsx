import { Show, SignInButton, SignUpButton, UserButton } from '@clerk/nextjs'
import { buildClerkProps, getAuth } from '@clerk/nextjs/server'
import type { GetServerSideProps } from 'next'

// The primary's home page: what its server saw (the middleware verified the session token) and
// what the browser's Clerk SDK shows. @clerk/nextjs 7 removed <SignedIn>/<SignedOut>;
// <Show when="signed-in"> / <Show when="signed-out"> are their replacement.
export const getServerSideProps: GetServerSideProps = async (ctx) => {
  const { userId } = getAuth(ctx.req)
  return { props: { serverUserId: userId, ...buildClerkProps(ctx.req) } }
}

export default function Home({ serverUserId }: { serverUserId: string | null }) {
  return (
    <main>
      <h1>Primary</h1>
      <p id="server-user">{serverUserId ? `Server sees ${serverUserId}` : 'Server sees no user'}</p>
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
