// ORBIT_NEXT_DIST_DIR lets one checkout hold a development and a production-like build side by
// side (the tests build into `.next-dev` and `.next-prod`), each type-checked with a tsconfig of
// its own (ORBIT_NEXT_TSCONFIG, which the tests write) that sees only its own build's types.
// `next build` / `next start` use `.next` and tsconfig.json without them.
/** @type {import('next').NextConfig} */
const nextConfig = {
  distDir: process.env.ORBIT_NEXT_DIST_DIR || '.next',
  typescript: {
    tsconfigPath: process.env.ORBIT_NEXT_TSCONFIG || 'tsconfig.json',
  },
}

export default nextConfig
