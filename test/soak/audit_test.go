package soak

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/audit"
)

// stream is the default audit stream of gateway.yaml.
const stream = "MANIFOLD_AUDIT"

// events are what the audit stream holds, by kind.
type events struct {
	calls   map[requestID]int // events per request id
	reloads int               // admin events of reloads
	other   []string          // events of neither kind (type, subject)
}

// readEvents reads the stream until it has given at least want events
// (for at most a minute: the spool replays what the NATS restart held
// back), then what else it holds. A message holds one event or a batch.
func readEvents(t *testing.T, url string, want int) events {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("audit consumer: %v", err)
	}
	ev := events{calls: map[requestID]int{}}
	for n := 0; ctx.Err() == nil; {
		wait := time.Second
		if n >= want {
			wait = 200 * time.Millisecond // the rest already stored, if any
		}
		m, err := cons.Next(jetstream.FetchMaxWait(wait))
		if err != nil {
			if n >= want {
				break
			}
			continue
		}
		evs, err := audit.Events(m.Data())
		if err != nil {
			t.Fatalf("not an event or a batch: %s", m.Data())
		}
		for _, raw := range evs {
			ev.add(t, raw)
		}
		n += len(evs)
	}
	return ev
}

func (ev *events) add(t *testing.T, raw []byte) {
	var e audit.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("not an event: %s", raw)
	}
	switch e.Type {
	case audit.TypeCall:
		var d audit.CallData
		var id []byte
		err := json.Unmarshal(e.Data, &d)
		if err == nil {
			id, err = hex.DecodeString(d.RequestID)
		}
		if err != nil || len(id) != len(requestID{}) {
			t.Errorf("call event without a request id: %s", raw)
			return
		}
		ev.calls[requestID(id)]++
	case audit.TypeAdmin:
		if e.Subject == "reload" {
			ev.reloads++
			return
		}
		fallthrough
	default:
		ev.other = append(ev.other, e.Type+" "+e.Subject)
	}
}

// check compares the events with the request ids answered: exactly one
// event each, none for a request not sent. It returns how many requests
// had no event and how many events were extra (duplicates or unknown).
func (ev *events) check(ids []requestID) (lost, extra int) {
	seen := make(map[requestID]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
		switch n := ev.calls[id]; {
		case n == 0:
			lost++
		case n > 1:
			extra += n - 1
		}
	}
	for id, n := range ev.calls {
		if !seen[id] {
			extra += n
		}
	}
	return lost, extra
}
