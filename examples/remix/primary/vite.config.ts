import { vitePlugin as remix } from '@remix-run/dev'
import { defineConfig } from 'vite'

// `remix vite:build` writes build/server (for remix-serve) and build/client. One build serves
// every setup: @clerk/remix reads its variables on the server at run time.
export default defineConfig({
  plugins: [remix()],
})
