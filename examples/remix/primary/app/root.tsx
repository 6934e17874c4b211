import { ClerkApp } from '@clerk/remix'
import { rootAuthLoader } from '@clerk/remix/ssr.server'
import { json, type LoaderFunction } from '@remix-run/node'
import { Links, Meta, Outlet, Scripts, ScrollRestoration, useLoaderData } from '@remix-run/react'
import { getBrowserEnvironment, satelliteOrigins, type BrowserEnvironment } from './environment'

// The seed's primary root loader. Remix hands a loader `{ request }`, not `{ req }` as the seed
// writes (with `req`, every page answers 500); rootAuthLoader puts the auth state on `request`.
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
      signInUrl: '/sign-in',
      signUpUrl: '/sign-up',
      allowedRedirectOrigins: satelliteOrigins(),
    } as const,
  )
}

function App() {
  const { ENV } = useLoaderData<{ ENV: BrowserEnvironment }>()
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1.0" />
        <title>Primary Remix app</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <Meta />
        <Links />
      </head>
      <body>
        <p>Primary Remix app</p>
        <Outlet />
        <script dangerouslySetInnerHTML={{ __html: `window.ENV = ${JSON.stringify(ENV)}` }} />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  )
}

// rootAuthLoader does not pass `allowedRedirectOrigins` on to clerk-js, which then refuses to send
// a signed-in user back to the satellite: ClerkApp gets it too (the seed gives it only to the
// loader).
export default ClerkApp(App, {
  signInUrl: '/sign-in',
  signUpUrl: '/sign-up',
  allowedRedirectOrigins: satelliteOrigins(),
})
