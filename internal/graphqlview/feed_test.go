package graphqlview

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestFeedNeverBlocks: a subscriber that does not read loses calls past
// its buffer; Record returns at once and the others still get every call.
func TestFeedNeverBlocks(t *testing.T) {
	f := NewFeed(2, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = f.Subscribe(ctx) // never read
	fast := f.Subscribe(ctx)
	for i := range 100 {
		id := strconv.Itoa(i)
		f.Record(ctx, &event.Call{RequestID: id}) // returns although one subscriber never reads
		select {
		case c := <-fast:
			if c.RequestID != id {
				t.Fatalf("the reading subscriber got call %s, want %s", c.RequestID, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the reading subscriber did not get call %s", id)
		}
	}
	if d := f.Dropped(); d != 98 {
		t.Errorf("dropped %d, want 98 (100 calls, a buffer of 2)", d)
	}
}

// TestFeedBudget: past graphql.runs_rate, a call is dropped for every
// subscriber at once and counted; each delivery to a subscriber costs one.
func TestFeedBudget(t *testing.T) {
	f := NewFeed(64, slog.New(slog.DiscardHandler))
	refusals := new(refusal.Counts)
	f.SetBudget(&yamlconf.Rate{Count: 10, Per: time.Hour}, refusals) // no refill during the test
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := f.Subscribe(ctx), f.Subscribe(ctx)
	for i := range 20 {
		f.Record(ctx, &event.Call{RequestID: strconv.Itoa(i)})
	}
	if len(a) != 5 || len(b) != 5 {
		t.Errorf("subscribers got %d and %d calls, want 5 each (a budget of 10 deliveries)", len(a), len(b))
	}
	if d, r := f.Dropped(), refusals.Get(RefusedRuns); d != 30 || r != 15 {
		t.Errorf("dropped %d deliveries in %d refused calls, want 30 in 15", d, r)
	}
	f.SetBudget(nil, refusals) // a reload that lifts the bound applies at once
	f.Record(ctx, &event.Call{})
	if len(a) != 6 {
		t.Errorf("after the budget was lifted: %d calls, want 6", len(a))
	}
}

// TestFeedEnds: a subscription ends with its context, and every one ends
// when the feed closes, later ones at once.
func TestFeedEnds(t *testing.T) {
	f := NewFeed(4, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	a := f.Subscribe(ctx)
	b := f.Subscribe(context.Background())
	cancel()
	waitClosed(t, "a subscription whose context ended", a)
	if n := f.Subscribers(); n != 1 {
		t.Errorf("%d subscribers, want 1", n)
	}
	f.Close()
	waitClosed(t, "a subscription of a closed feed", b)
	waitClosed(t, "a subscription after Close", f.Subscribe(context.Background()))
	f.Record(context.Background(), &event.Call{}) // no one left: no panic
}

func waitClosed(t *testing.T, what string, ch <-chan *event.Call) {
	t.Helper()
	select {
	case _, open := <-ch:
		if open {
			t.Errorf("%s: got a call, want the channel closed", what)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s: still open", what)
	}
}
