// The seed's root loader returns `ENV: getBrowserEnvironment()` without defining it (every page
// answers 500 until an app does). The satellite's browser needs nothing beyond what
// rootAuthLoader already hands it.
export function getBrowserEnvironment() {
  return {}
}
