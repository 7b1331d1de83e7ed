// Package graphqlview serves the GraphQL view of the gateway at /graphql:
// the schema-first gqlgen executor of package resolvers behind a
// GraphQL-over-HTTP transport (POST and GET, application/json and
// application/graphql-response+json with the spec's status codes),
// WebSocket (graphql-transport-ws) and SSE for subscriptions, GraphiQL for
// browsers (its assets embedded, so the playground works offline),
// depth and complexity limits, the introspection switch of gateway.yaml,
// automatic persisted queries and errors with stable extensions.code
// values.
//
// A View is both a server.Surface (mounted for every Runtime, so it always
// shows the plan being served) and an event.Recorder: every finished call
// of the gateway is broadcast to the runs subscription.
package graphqlview
