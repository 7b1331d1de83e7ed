// Package resolvers holds the GraphQL view's resolvers and the code gqlgen
// generates from schema/*.graphqls (gqlgen.yml at the repository root).
//
// Resolvers convert and nothing else: the catalog comes from the plan being
// served, runs go through server.Server.Invoke and Server.Finish (the run
// path REST and MCP share: authentication, roles, rate limits, caches,
// engine, recording), and errors become GraphQL errors with a stable
// extensions.code mapped from the gateway's problem (see Error).
//
// Regenerate after editing the schema:
//
//	go run github.com/99designs/gqlgen generate
//
// generate_test.go fails when the committed generated files are stale.
package resolvers
