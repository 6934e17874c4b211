import Link from 'next/link'
import { AuthStatus } from './auth-status'

// The satellite's public home page (the middleware leaves `/` public).
export default function Home() {
  return (
    <main>
      <h1>Satellite</h1>
      <AuthStatus />
      <p>
        <Link href="/profile">Your profile</Link> (protected)
      </p>
    </main>
  )
}
