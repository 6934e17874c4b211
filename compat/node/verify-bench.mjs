// Benchmark of Clerk's published `verifyToken` (@clerk/backend, pinned in package.json) on one
// Orbit session token, for crates/orbit-sdk/benches/middleware.rs, which spawns it (pinned to one
// CPU with taskset) and compares with Orbit's SDK on the same token and key.
//
// Env:  ORBIT_TOKEN        the session token (RS256, from Orbit's BAPI)
//       ORBIT_JWT_KEY      SPKI PEM of the JWKS key that signed it (`jwtKey`, networkless)
//       ORBIT_SECRET_KEY   + ORBIT_API_URL: remote JWKS mode (`secretKey` + `apiUrl`; fetched
//                          once, then cached by the SDK); skipped when unset
//       BENCH_SECONDS      measurement window per mode (default 5), after BENCH_WARMUP (default 0.5)
// Out:  one JSON line per mode on stdout:
//       {"mode", "ok", "ops_per_sec", "p50_us", "p99_us", "mean_us", "n", "node", "sdk"}
//       or {"mode", "ok": false, "error"}.
//
// Sequential `await` in a loop: one verification at a time, like one request at a time.
import { verifyToken } from '@clerk/backend';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const sdkVersion = (() => {
  try {
    return require('@clerk/backend/package.json').version;
  } catch {
    return 'unknown';
  }
})();

const token = process.env.ORBIT_TOKEN;
const jwtKey = process.env.ORBIT_JWT_KEY;
const secretKey = process.env.ORBIT_SECRET_KEY;
const apiUrl = process.env.ORBIT_API_URL;
const seconds = Number(process.env.BENCH_SECONDS || 5);
const warmup = Number(process.env.BENCH_WARMUP || 0.5);

function out(obj) {
  process.stdout.write(`${JSON.stringify({ node: process.version, sdk: sdkVersion, ...obj })}\n`);
}

async function once(options) {
  const r = await verifyToken(token, options);
  // verifyToken (3.x) returns { data, errors } (withLegacyReturn) or throws.
  if (r && r.errors) throw r.errors[0];
  const claims = r && r.data ? r.data : r;
  if (!claims || !claims.sub || !claims.sid) throw new Error(`no claims: ${JSON.stringify(r)}`);
  return claims;
}

async function measure(mode, options) {
  try {
    await once(options); // first call: for the remote mode, fetches the JWKS (not counted)
    const warmEnd = performance.now() + warmup * 1000;
    while (performance.now() < warmEnd) await once(options);
    const lat = [];
    const start = performance.now();
    const end = start + seconds * 1000;
    let now = start;
    while (now < end) {
      const t0 = performance.now();
      await once(options);
      now = performance.now();
      lat.push(now - t0);
    }
    const elapsed = (performance.now() - start) / 1000;
    lat.sort((a, b) => a - b);
    const pct = (p) => lat[Math.min(lat.length, Math.max(1, Math.ceil((p / 100) * lat.length))) - 1] * 1000;
    const mean = (lat.reduce((a, b) => a + b, 0) / lat.length) * 1000;
    out({ mode, ok: true, ops_per_sec: lat.length / elapsed, p50_us: pct(50), p99_us: pct(99), mean_us: mean, n: lat.length });
  } catch (e) {
    out({ mode, ok: false, error: String(e && e.message ? e.message : e) });
  }
}

if (!token) {
  out({ mode: 'setup', ok: false, error: 'ORBIT_TOKEN is not set' });
  process.exit(2);
}
if (jwtKey) await measure('jwtKey', { jwtKey });
if (secretKey && apiUrl) await measure('secretKey+apiUrl', { secretKey, apiUrl });
