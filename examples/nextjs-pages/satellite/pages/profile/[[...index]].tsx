import { UserButton, UserProfile } from '@clerk/nextjs'

// The satellite's protected page (every route but `/` needs a session): the seed's
// "you can see the <UserProfile /> component and update your information".
export default function Page() {
  return (
    <main>
      <h1>Profile on the satellite</h1>
      <UserButton />
      <UserProfile />
    </main>
  )
}
