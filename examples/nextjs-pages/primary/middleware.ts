import { clerkMiddleware } from '@clerk/nextjs/server'

// The seed shows a middleware only for the satellite, but `auth()` (the home page) needs
// clerkMiddleware on the primary too. Every page of the primary is public.
export default clerkMiddleware()

export const config = {
  matcher: [
    // Skip Next.js internals and all static files, unless found in search params
    '/((?!_next|[^?]*\\.(?:html?|css|js(?!on)|jpe?g|webp|png|gif|svg|ttf|woff2?|ico|csv|docx?|xlsx?|zip|webmanifest)).*)',
    // Always run for API routes
    '/(api|trpc)(.*)',
  ],
}
