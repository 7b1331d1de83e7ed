// Package browser checks the GraphQL view and the operator console with
// clients from outside the project, in tests behind the build tag browser
// that .ci/run runs (go test -tags browser ./test/browser/):
//
//   - GraphiQL in headless Chromium: the demo starts, the playground opens
//     with a query in its URL, the test presses run, waits for the answer
//     on the page and saves a screenshot to test/out/graphiql.png.
//     Chromium is driven over the DevTools protocol on a pipe
//     (--remote-debugging-pipe), with no library and no network port.
//   - the operator console (console_test.go) in headless Chromium driven
//     by chromedp: sign-in, the pipelines and their step graphs (nodes
//     found by accessible name), a run and its waterfall, a breaker forced
//     open and back, a purge, Live, a narrow window; screenshots in
//     test/out/console-*.png.
//   - graphql-http's audit of the GraphQL-over-HTTP specification against
//     the demo's /graphql, with node.
package browser
