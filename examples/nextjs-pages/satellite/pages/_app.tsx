import { ClerkProvider } from '@clerk/nextjs'
import type { AppProps } from 'next/app'
import Head from 'next/head'

// The seed's satellite `_app.tsx`. `domain={(url) => url.host}` fails while Next.js prerenders
// ("as function is not supported in non-browser environments"): the domain comes from
// NEXT_PUBLIC_CLERK_DOMAIN, as the seed's `.env` gives it. The primary's sign-in and sign-up URLs
// come from NEXT_PUBLIC_CLERK_SIGN_IN_URL / _SIGN_UP_URL (the seed's `.env`); the seed's props
// are the same values written out. `AppProps` types the seed's untyped destructuring.
export default function App({ Component, pageProps }: AppProps) {
  const primarySignInUrl = process.env.NEXT_PUBLIC_CLERK_SIGN_IN_URL ?? 'http://localhost:3000/sign-in'
  const primarySignUpUrl = process.env.NEXT_PUBLIC_CLERK_SIGN_UP_URL ?? 'http://localhost:3000/sign-up'
  return (
    <ClerkProvider isSatellite signInUrl={primarySignInUrl} signUpUrl={primarySignUpUrl} {...pageProps}>
      <Head>
        <title>Satellite Next.js app</title>
        <meta name="viewport" content="width=device-width, initial-scale=1.0" />
        <link rel="icon" href="/icon.svg" />
      </Head>
      <Component {...pageProps} />
    </ClerkProvider>
  )
}
