// Package waittest waits, in tests, for what happens on other goroutines:
// a condition to hold, a channel to deliver. Each wait is bounded and
// fails the test with what it waited for.
package waittest

import (
	"testing"
	"time"
)

// Bound is how long a wait lasts before it fails the test: far longer
// than anything awaited takes, even on a loaded machine.
const Bound = 5 * time.Second

// Until polls cond until it holds, and fails t after Bound.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Receive returns what ch delivers (the zero value once it is closed),
// and fails t after Bound.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Bound):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
