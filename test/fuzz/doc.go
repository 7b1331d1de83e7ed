// Package fuzz holds Go fuzz targets for the request side of the gateway:
// path hygiene and routing, parameters from the query, a header and the
// path, request bodies against the pipeline's schema, the GraphQL `run`
// arguments and MCP tool arguments. Each target serves its input through
// the whole gateway in process (launch.Offline: authentication, request
// validation, the engine, the surfaces) against an echo upstream, and
// checks what a caller would see: a 4xx problem for bad input, never a
// 5xx, and an accepted value reaching the upstream unchanged.
//
// go test runs the seeds (f.Add and testdata/fuzz); a longer run is
//
//	go test -run '^$' -fuzz '^FuzzPath$' -fuzztime 60s ./test/fuzz
//
// See docs/testing.md.
package fuzz
