// Runs the graphql-http server audit (the GraphQL-over-HTTP
// specification's conformance suite) against the URL given as argument and
// prints one line per audit. Exits 1 when a MUST audit fails; SHOULD and
// MAY audits that fail are printed as warnings.
//
//   node graphql-http-audit.mjs http://127.0.0.1:9080/graphql
//
// Needs the graphql-http package (NODE_PATH or a node_modules nearby).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
let ok = 0, warn = 0, err = 0;
for (const r of results) {
  if (r.status === 'ok') ok++;
  else if (r.status === 'warn') warn++;
  else err++;
  const reason = r.status === 'ok' ? '' : ` -- ${r.reason}`;
  console.log(`${r.status.padEnd(5)} ${r.id} ${r.name}${reason}`);
}
console.log(`${ok} passed, ${err} failed, ${warn} warnings`);
process.exit(err > 0 ? 1 : 0);
