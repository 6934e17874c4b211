// A Node app server's middleware, driven over JSON lines by
// crates/orbit-server/tests/it/compat_node.rs: every stdin line is one incoming request, answered
// on stdout with what Clerk's published SDK (`@clerk/backend`) decides about it.
//
// In:  {"id", "options": {createClerkClient options}, "authOptions": {authenticateRequest
//       options}, "request": {"url", "method", "headers": {name: value}}}
// Out: {"id", "status", "reason", "message", "isSignedIn", "userId", "sessionId",
//       "headers": [[name, value], ...]}  (every Set-Cookie separately), or {"id", "error"}.
import { createInterface } from 'node:readline';
import { createClerkClient } from '@clerk/backend';

// stdout carries the protocol only: send whatever the SDK logs to stderr.
for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => console.error(`[sdk ${level}]`, ...args);
}

function write(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function headersOf(headers) {
  const out = [];
  if (!headers) return out;
  for (const [name, value] of headers.entries()) {
    if (name.toLowerCase() !== 'set-cookie') out.push([name, value]);
  }
  for (const c of headers.getSetCookie()) out.push(['set-cookie', c]);
  return out;
}

async function handle(msg) {
  const { options = {}, authOptions = {}, request = {} } = msg;
  const req = new Request(request.url, { method: request.method || 'GET', headers: request.headers || {} });
  const clerk = createClerkClient(options);
  const state = await clerk.authenticateRequest(req, authOptions);
  const auth = state.toAuth() || {};
  return {
    status: state.status,
    reason: state.reason ?? null,
    message: state.message ?? null,
    isSignedIn: state.isSignedIn,
    userId: auth.userId ?? null,
    sessionId: auth.sessionId ?? null,
    headers: headersOf(state.headers),
  };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    write({ id: null, error: `bad input line: ${e.message}` });
    return;
  }
  handle(msg).then(
    (result) => write({ id: msg.id, ...result }),
    (e) => write({ id: msg.id, error: String(e && e.stack ? e.stack : e) }),
  );
});
write({ ready: true, sdk: '@clerk/backend' });
