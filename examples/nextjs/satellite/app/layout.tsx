import { ClerkProvider } from '@clerk/nextjs'

// The seed's satellite layout. The seed passes `domain={(url) => url.host}`, which `next build`
// refuses (a function cannot go from a server component to a client one); the domain comes from
// NEXT_PUBLIC_CLERK_DOMAIN instead, as the seed's `.env` gives it. The primary's sign-in and
// sign-up URLs come from NEXT_PUBLIC_CLERK_SIGN_IN_URL / _SIGN_UP_URL (the seed's `.env`); the
// seed's props are the same values written out.
export default function RootLayout({ children }: { children: React.ReactNode }) {
  const primarySignInUrl = process.env.NEXT_PUBLIC_CLERK_SIGN_IN_URL ?? 'http://localhost:3000/sign-in'
  const primarySignUpUrl = process.env.NEXT_PUBLIC_CLERK_SIGN_UP_URL ?? 'http://localhost:3000/sign-up'
  return (
    <html lang="en">
      <body>
        <ClerkProvider isSatellite signInUrl={primarySignInUrl} signUpUrl={primarySignUpUrl}>
          <title>Satellite Next.js app</title>
          <meta name="viewport" content="width=device-width, initial-scale=1.0" />
          {children}
        </ClerkProvider>
      </body>
    </html>
  )
}
