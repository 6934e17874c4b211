// The seed's root loader returns `ENV: getBrowserEnvironment()` without defining it (every page
// answers 500 until an app does): the values the browser needs at run time, read on the server
// and written into the page by the root. The primary's browser needs the satellite it may send a
// signed-in user back to (`allowedRedirectOrigins`), which the seed writes out and this example
// reads from SATELLITE_URL (several satellites: their origins separated by commas).
export function getBrowserEnvironment() {
  return {
    SATELLITE_URL: process.env.SATELLITE_URL ?? 'http://localhost:3001',
  }
}

export type BrowserEnvironment = ReturnType<typeof getBrowserEnvironment>

declare global {
  interface Window {
    ENV?: BrowserEnvironment
  }
}

// The origins a signed-in user may be sent back to.
export function satelliteOrigins(): string[] {
  return environment().SATELLITE_URL.split(',').map((origin) => origin.trim())
}

// The environment on either side: read on the server, from the page in the browser (where the
// root wrote it before the app's scripts run).
export function environment(): BrowserEnvironment {
  return typeof window === 'undefined' ? getBrowserEnvironment() : window.ENV!
}
