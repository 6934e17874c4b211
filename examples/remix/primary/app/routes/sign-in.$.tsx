import { SignIn } from '@clerk/remix'

export default function Page() {
  return <SignIn />
}
