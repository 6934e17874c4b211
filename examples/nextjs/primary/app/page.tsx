import { auth } from '@clerk/nextjs/server'
import { AuthStatus } from './auth-status'

// The primary's home page: what its server saw (the middleware verified the session token) and
// what the browser's Clerk SDK shows.
export default async function Home() {
  const { userId } = await auth()
  return (
    <main>
      <h1>Primary</h1>
      <p id="server-user">{userId ? `Server sees ${userId}` : 'Server sees no user'}</p>
      <AuthStatus />
    </main>
  )
}
