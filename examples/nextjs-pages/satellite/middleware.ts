import { clerkMiddleware, createRouteMatcher } from '@clerk/nextjs/server'

// Set the homepage as a public route
const isPublicRoute = createRouteMatcher(['/'])

// Set the necessary options for a satellite application. The seed writes the values out
// (`signInUrl: 'https://primary.dev/sign-in'`, `domain: 'https://satellite.dev'`); they come
// from the same variables as the layout's here. `domain` is the bare host: with a scheme the SDK
// builds `clerk.https//satellite.dev` as the satellite's Frontend API host.
const options = {
  isSatellite: true,
  signInUrl: process.env.NEXT_PUBLIC_CLERK_SIGN_IN_URL ?? 'http://localhost:3000/sign-in',
  signUpUrl: process.env.NEXT_PUBLIC_CLERK_SIGN_UP_URL ?? 'http://localhost:3000/sign-up',
  domain: process.env.NEXT_PUBLIC_CLERK_DOMAIN ?? 'localhost:3001',
}

export default clerkMiddleware(async (auth, req) => {
  if (isPublicRoute(req)) return // if it's a public route, do nothing
  await auth.protect() // for any other route, require auth
}, options)

export const config = {
  matcher: [
    // Skip Next.js internals and all static files, unless found in search params
    '/((?!_next|[^?]*\\.(?:html?|css|js(?!on)|jpe?g|webp|png|gif|svg|ttf|woff2?|ico|csv|docx?|xlsx?|zip|webmanifest)).*)',
    // Always run for API routes
    '/(api|trpc)(.*)',
  ],
}
