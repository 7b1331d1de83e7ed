package graphqlview

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
)

// TestFeedNeverBlocks: a subscriber that does not read loses calls past
// its buffer; Record returns at once and the others still get every call.
func TestFeedNeverBlocks(t *testing.T) {
	f := NewFeed(2, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = f.Subscribe(ctx) // never read
	fast := f.Subscribe(ctx)
	got := make(chan int)
	go func() {
		n := 0
		for range fast {
			n++
			if n == 100 {
				got <- n
			}
		}
	}()
	start := time.Now()
	for i := range 100 {
		f.Record(ctx, &event.Call{RequestID: string(rune('a' + i%26))})
		if i%2 == 1 {
			time.Sleep(time.Millisecond) // let the reader keep up within its buffer of 2
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("100 records took %v", d)
	}
	select {
	case n := <-got:
		if n != 100 {
			t.Errorf("the reading subscriber got %d calls, want 100", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reading subscriber did not get every call")
	}
	if d := f.Dropped(); d != 98 {
		t.Errorf("dropped %d, want 98 (100 calls, a buffer of 2)", d)
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
