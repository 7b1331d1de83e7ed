// Package mcpserver serves every pipeline of the plan as a Model Context
// Protocol tool at /mcp (streamable HTTP), with the official Go SDK.
//
// A tool call is a pipeline call like any other: its arguments are typed
// and checked with the pipeline's own parameter rules, then it goes through
// server.Server.Invoke (authorization, roles, rate limits, response cache,
// engine) and server.Server.Finish (the recorded call, surface "mcp"). The
// caller is whoever server.Server.ServeHTTP authenticated on the HTTP
// request that carried the call, so API keys and bearer tokens work as they
// do for REST, and each caller lists only the tools its roles may call.
//
// One MCP server and one HTTP handler live across reloads: every Mount
// brings the tool list up to date, and connected sessions receive
// notifications/tools/list_changed when it changed.
//
// Anyone may open a session, and a session costs goroutines and memory for
// as long as it lives, so gateway.yaml's mcp section bounds them: how many
// are open in all and per client address (checked before the SDK reads the
// request), how large the initialize that opens one may be and how long
// each string the session keeps (clientInfo, protocol version, logging
// level), how long a session may wait for notifications/initialized and
// stay idle. The SDK closes idle sessions itself (SessionTimeout); the
// rest is added around it. A session's event stream (GET) is a server
// stream (server.OpenStream): bounded by server.max_streams, and ended
// when the caller's credential expires or a reload removes the caller.
package mcpserver
