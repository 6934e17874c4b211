// ORBIT_NEXT_DIST_DIR lets one checkout hold a development and a production-like build side by
// side: the tests build into `.next-dev` and `.next-prod` (both listed in tsconfig.json, so that
// `next build` leaves it alone). `next build` / `next start` use `.next` without it.
/** @type {import('next').NextConfig} */
const nextConfig = {
  distDir: process.env.ORBIT_NEXT_DIST_DIR || '.next',
}

export default nextConfig
