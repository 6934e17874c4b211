import { ClerkProvider } from '@clerk/nextjs'

// The seed's primary layout: the sign-in and sign-up pages live here, and a signed-in user may be
// sent back to the satellite. The seed hard-codes the satellite's URL; here it comes from
// SATELLITE_URL (read when the app is built), so one app serves the development and the
// production-like setup.
export default function RootLayout({ children }: { children: React.ReactNode }) {
  const primarySignInUrl = '/sign-in'
  const primarySignUpUrl = '/sign-up'
  const satelliteUrl = process.env.SATELLITE_URL ?? 'http://localhost:3001'
  return (
    <html lang="en">
      <body>
        <ClerkProvider
          signInUrl={primarySignInUrl}
          signUpUrl={primarySignUpUrl}
          allowedRedirectOrigins={[satelliteUrl]}
        >
          <p>Primary Next.js app</p>
          {children}
        </ClerkProvider>
      </body>
    </html>
  )
}
