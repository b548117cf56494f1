// PostGraphile 4 as a library on one Node process: the peer bench/peer.py measures our
// server against. Production settings: no GraphiQL, no watch mode, no query log; bearer
// JWTs verified with the run's secret (its claims reach PostgreSQL as jwt.claims.*, as in a
// PostGraphile deployment), no audience required since our tokens carry none.
const http = require("http");
const { postgraphile } = require("postgraphile");

const { DATABASE_URL, JWT_SECRET, PORT } = process.env;

const middleware = postgraphile(DATABASE_URL, ["public", "bench_peer"], {
  graphiql: false,
  watchPg: false,
  disableQueryLog: true,
  setofFunctionsContainNulls: false,
  retryOnInitFail: false,
  enableQueryBatching: false,
  jwtSecret: JWT_SECRET,
  jwtVerifyOptions: { audience: undefined },
});

http.createServer(middleware).listen(Number(PORT), "127.0.0.1");
