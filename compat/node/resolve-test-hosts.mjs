// Preload (`node --import ./resolve-test-hosts.mjs`): resolves every `*.test` name to
// ORBIT_TEST_IP, the loopback address the production test world listens on (port 443), the way
// the Rust test browsers do with reqwest's `resolve`. Other names resolve normally.
// Node's net/tls (and so undici, the global fetch the SDK uses) look names up through
// `dns.lookup` at connect time, so patching the module's property is enough.
import dns from 'node:dns';

const ip = process.env.ORBIT_TEST_IP;
if (ip) {
  const family = ip.includes(':') ? 6 : 4;
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    } else if (typeof options === 'number') {
      options = { family: options };
    }
    const name = String(hostname).toLowerCase().replace(/\.$/, '');
    if (name === 'test' || name.endsWith('.test')) {
      process.nextTick(() => {
        if (options && options.all) callback(null, [{ address: ip, family }]);
        else callback(null, ip, family);
      });
      return {};
    }
    return original.call(this, hostname, options, callback);
  };
}
