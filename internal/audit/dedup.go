package audit

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// maxDedupScan bounds the messages read back after a long outage.
const maxDedupScan = 16384

// uncertain remembers the messages that were in flight when publishing
// failed: the server may have stored them without the acknowledgement
// reaching us. Sent again within the stream's duplicate window, JetStream
// drops them by Nats-Msg-Id; after a longer outage it has forgotten the
// ids, so before replaying the sender reads the ids stored after the last
// acknowledged sequence and skips those it finds.
type uncertain struct {
	ids     map[string]struct{}
	since   time.Time // the first failure of the outage
	lastAck uint64    // stream sequence of the last acknowledged message
	stored  map[string]struct{}
}

// note records the messages in flight at a failure.
func (u *uncertain) note(fs []flight) {
	if len(fs) == 0 {
		return
	}
	if u.ids == nil {
		u.ids, u.since = map[string]struct{}{}, time.Now()
	}
	for _, f := range fs {
		u.ids[f.it.id] = struct{}{}
	}
}

// acked notes an acknowledgement's stream sequence.
func (u *uncertain) acked(ack *jetstream.PubAck) {
	if ack != nil && ack.Sequence > u.lastAck {
		u.lastAck = ack.Sequence
	}
}

// resolve runs before a replay: after an outage longer than the duplicate
// window (less a margin for clocks and the time the last publish took),
// it finds which uncertain messages the stream holds. Within the window
// there is nothing to do.
func (u *uncertain) resolve(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if len(u.ids) == 0 || u.stored != nil {
		return nil
	}
	if time.Since(u.since) < cfg.Duplicates-cfg.Duplicates/4 {
		u.ids = nil // JetStream still remembers them
		return nil
	}
	stored, err := storedIDs(ctx, js, cfg.Stream, u.lastAck+1, u.ids)
	if err != nil {
		return err
	}
	u.ids = nil
	if len(stored) > 0 {
		u.stored = stored
	}
	return nil
}

// skip reports whether a spooled message is already in the stream; each
// is skipped once.
func (u *uncertain) skip(it *item) bool {
	if _, ok := u.stored[it.id]; !ok {
		return false
	}
	delete(u.stored, it.id)
	if len(u.stored) == 0 {
		u.stored = nil
	}
	return true
}

// storedIDs returns which of ids the stream holds from sequence from on
// (at most maxDedupScan messages, the newest), reading headers only.
func storedIDs(ctx context.Context, js jetstream.JetStream, stream string, from uint64, ids map[string]struct{}) (map[string]struct{}, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	last := st.CachedInfo().State.LastSeq
	if last < from {
		return map[string]struct{}{}, nil
	}
	if last-from >= maxDedupScan {
		from = last - maxDedupScan + 1
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from, HeadersOnly: true,
	})
	if err != nil {
		return nil, err
	}
	found := map[string]struct{}{}
	for len(found) < len(ids) {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			return nil, err
		}
		if _, ok := ids[m.Headers().Get(jetstream.MsgIDHeader)]; ok {
			found[m.Headers().Get(jetstream.MsgIDHeader)] = struct{}{}
		}
		if md, err := m.Metadata(); err != nil || md.Sequence.Stream >= last {
			break
		}
	}
	return found, nil
}
