import { ClerkProvider } from '@clerk/nextjs'
import type { AppProps } from 'next/app'
import Head from 'next/head'

// The seed's primary `_app.tsx`. The seed destructures `{ Component, pageProps }` without a type,
// which `next build`'s type check refuses (TS7031); `AppProps` types it. The seed hard-codes the
// satellite's URL; here it comes from NEXT_PUBLIC_SATELLITE_URL (read at build time: `_app` runs
// in the browser too).
export default function App({ Component, pageProps }: AppProps) {
  const primarySignInUrl = '/sign-in'
  const primarySignUpUrl = '/sign-up'
  const satelliteUrl = process.env.NEXT_PUBLIC_SATELLITE_URL ?? 'http://localhost:3001'
  return (
    <ClerkProvider
      signInUrl={primarySignInUrl}
      signUpUrl={primarySignUpUrl}
      allowedRedirectOrigins={[satelliteUrl]}
      {...pageProps}
    >
      <Head>
        <title>Primary Next.js app</title>
        <meta name="viewport" content="width=device-width, initial-scale=1.0" />
        <link rel="icon" href="/icon.svg" />
      </Head>
      <p>Primary Next.js app (Pages Router)</p>
      <Component {...pageProps} />
    </ClerkProvider>
  )
}
