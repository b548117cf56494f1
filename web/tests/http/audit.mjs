// graphql-http's server audits (the GraphQL over HTTP spec's own) against a running server.
// Usage: node tests/http/audit.mjs <url of /graphql> <bearer token>
// Prints one JSON object: the counts by status and every audit's result. Exits 1 unless
// every audit is "ok".
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node tests/http/audit.mjs <url> <token>');
  process.exit(2);
}

// Every audit's request carries the caller's token, as a client's would.
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await Promise.all(serverAudits({ url, fetchFn }).map((audit) => audit.fn()));
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) counts[result.status] += 1;
console.log(
  JSON.stringify({
    counts,
    results: results.map(({ id, name, status, reason }) => ({ id, name, status, reason })),
  }),
);
process.exit(counts.ok === results.length ? 0 : 1);
