// Package soak runs the demo gateway under steady load for a bounded time
// while it is reloaded 100 times, its audit NATS server restarts and a
// backend goes down and comes back, then checks that the gateway itself
// failed no request, that every request left exactly one audit event, and
// that the heap and the goroutines came back to their baseline.
//
//	go test ./test/soak                        # a short run (part of go test ./...)
//	go test -run TestSoak -v ./test/soak -soak=60s  # the CI variant (.ci/run)
//	go test -run TestSoak -timeout 20m -v ./test/soak -soak=10m
//
// See docs/testing.md.
package soak
