import { SignUp } from '@clerk/remix'

export default function Page() {
  return <SignUp />
}
