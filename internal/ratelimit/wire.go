package ratelimit

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Bounds of one flush: a message stays well under NATS's default max
// payload, and a flush publishes a bounded number of them; what does not
// fit waits for the next flush.
const (
	maxMessage      = 32 << 10
	maxFlushMessage = 32
	wireVersion     = 1
	// flagLeaving marks the goodbye of a replica that shuts down.
	flagLeaving = 1
	// sentHeader carries the sender's clock when it read what it spent
	// (unix ns), so that a receiver knows which of its own epochs the
	// news runs to. A message without it is taken as an interval old.
	sentHeader = "Manifold-Sent"
)

// entry is one bucket's spending in an exchange message.
type entry struct {
	policy, caller string
	rate           yamlconf.Rate
	n              int64
}

// flush publishes what this replica spent since the last flush, and a
// heartbeat when it spent nothing. While NATS is away the spending is
// dropped: each replica then enforces its share alone.
func (x *exchange) flush(fallback bool) {
	x.dirtyMu.Lock()
	dirty := x.dirty
	x.dirty = nil
	x.dirtyMu.Unlock()
	at := x.l.now() // before reading what was spent
	msg := x.header()
	sent := 0
	for i, b := range dirty {
		n := b.share.pending.Swap(0)
		if n == 0 || fallback {
			continue
		}
		msg = appendEntry(msg, b, n)
		if len(msg) < maxMessage {
			continue
		}
		x.publish(msg, at)
		sent++
		if msg = x.header(); sent == maxFlushMessage {
			x.requeue(dirty[i+1:])
			return
		}
	}
	x.publish(msg, at)
}

// requeue keeps buckets a full flush left out for the next one.
func (x *exchange) requeue(left []*bucket) {
	for _, b := range left {
		n := b.share.pending.Swap(0)
		if n > 0 && b.share.pending.Add(n) == n {
			x.dirtyMu.Lock()
			x.dirty = append(x.dirty, b)
			x.dirtyMu.Unlock()
		}
	}
}

func (x *exchange) publish(msg []byte, at time.Time) {
	m := &nats.Msg{Subject: x.subject, Data: msg, Header: nats.Header{sentHeader: {strconv.FormatInt(at.UnixNano(), 10)}}}
	if err := x.nc.PublishMsg(m); err != nil && x.nc.IsConnected() {
		x.log.Warn("rate limits: could not publish to the cluster", "subject", x.subject, "error", err)
	}
}

func (x *exchange) header() []byte {
	msg := make([]byte, 0, 256)
	msg = append(msg, wireVersion, 0) // version, flags
	return appendString(msg, x.replica)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendEntry(msg []byte, b *bucket, n int64) []byte {
	msg = appendString(msg, b.key[:b.split])
	msg = appendString(msg, b.key[b.split+1:])
	msg = binary.AppendUvarint(msg, uint64(n))
	msg = binary.AppendUvarint(msg, uint64(b.rate.Count))
	msg = binary.AppendUvarint(msg, uint64(b.rate.Per))
	return binary.AppendUvarint(msg, uint64(b.rate.Burst))
}

var errMalformed = errors.New("malformed rate-limit exchange message")

// decode reads an exchange message: version, flags, the sender's
// replica id, then each entry, given to each as it is read. The sender's own messages are
// skipped whole.
func decode(msg []byte, self string, each func(entry)) (string, error) {
	if len(msg) < 2 || msg[0] != wireVersion {
		return "", errMalformed
	}
	r := reader{b: msg[2:]}
	replica := r.str()
	if r.err != nil || replica == self {
		return replica, r.err
	}
	for len(r.b) > 0 && r.err == nil {
		e := entry{policy: r.str(), caller: r.str()}
		e.n = int64(r.uint())
		e.rate = yamlconf.Rate{Count: int(r.uint()), Per: time.Duration(r.uint()), Burst: int(r.uint())}
		if r.err == nil && (e.n <= 0 || e.rate.Count <= 0 || e.rate.Per <= 0 || e.rate.Burst <= 0) {
			r.err = errMalformed
		}
		if r.err == nil {
			each(e)
		}
	}
	return replica, r.err
}

// reader reads uvarints and strings, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > 1<<62 {
		r.err = errMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.uint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errMalformed
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
