import { ClerkApp } from '@clerk/remix'
import { rootAuthLoader } from '@clerk/remix/ssr.server'
import { json, type LoaderFunction } from '@remix-run/node'
import { Links, Meta, Outlet, Scripts, ScrollRestoration } from '@remix-run/react'
import { getBrowserEnvironment } from './environment'

// The seed's satellite root loader, with `({ request })` for the seed's `({ req })` (Remix hands
// a loader `request`; with `req` every page answers 500). The seed writes the primary's sign-in
// and sign-up URLs out; here they come from CLERK_SIGN_IN_URL / CLERK_SIGN_UP_URL (the seed's
// `.env`), and rootAuthLoader hands them, with the publishable key, to the browser.
// `domain: (url) => url.host` works here: the loader runs on the server only.
export const loader: LoaderFunction = (args) => {
  return rootAuthLoader(
    args,
    ({ request }) => {
      const { userId, sessionId, getToken } = request.auth
      return json({
        message: `Hello from the root loader :)`,
        ENV: getBrowserEnvironment(),
      })
    },
    {
      loadUser: true,
      signInUrl: process.env.CLERK_SIGN_IN_URL ?? 'http://localhost:3000/sign-in',
      signUpUrl: process.env.CLERK_SIGN_UP_URL ?? 'http://localhost:3000/sign-up',
      isSatellite: true,
      domain: (url) => url.host,
    } as const,
  )
}

function App() {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1.0" />
        <title>Satellite Remix app</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <Meta />
        <Links />
      </head>
      <body>
        <p>Satellite Remix app</p>
        <Outlet />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  )
}

// The seed's ClerkApp options, less the sign-in and sign-up URLs: the root loader above already
// hands the browser the ones it read, and a value given here would override them (ClerkApp's
// options are fixed when the app is built, the loader's are read at run time).
export default ClerkApp(App, {
  isSatellite: true,
  domain: (url) => url.host,
})
