package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// BatchContentType is the Content-Type header of a message holding
// several call events: a JSON array of CloudEvents (the CloudEvents JSON
// batch format). A message with ContentType holds one event.
const BatchContentType = "application/cloudevents-batch+json; charset=utf-8"

// Bounds of one batch message: far below NATS's default 1 MiB payload,
// and small enough that its buffer is used again (batchBufs) rather than
// allocated per message.
const (
	maxBatchEvents = 256
	maxBatchBytes  = 64 << 10
)

// Events returns the events of one audit message: the event itself, or
// each event of a batch (a JSON array), in order. Consumers can tell the
// two by the Content-Type header or by the first byte ('[' for a batch).
func Events(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '[' {
		return []json.RawMessage{data}, nil
	}
	var evs []json.RawMessage
	if err := json.Unmarshal(data, &evs); err != nil {
		return nil, fmt.Errorf("audit: batch: %w", err)
	}
	return evs, nil
}

// isBatch reports whether an item's data is a batch.
func isBatch(data []byte) bool { return len(data) > 0 && data[0] == '[' }

// batchItems groups items into batches of the same subject, keeping each
// subject's order: one message per pipeline (and per bound) instead of
// one per event, so that JetStream stores, indexes and acknowledges far
// fewer messages. A batch's Nats-Msg-Id is its first event's id and its
// count, fixed when it is formed, so a batch sent again (after a lost
// acknowledgement, from the spool) is still stored once.
func batchItems(its []*item) []*item {
	if len(its) < 2 {
		return its
	}
	var order []string
	groups := map[string][]*item{}
	for _, it := range its {
		if _, ok := groups[it.subject]; !ok {
			order = append(order, it.subject)
		}
		groups[it.subject] = append(groups[it.subject], it)
	}
	out := make([]*item, 0, len(order))
	for _, subj := range order {
		out = appendBatches(out, groups[subj])
	}
	return out
}

// appendBatches appends the items of one subject as batches within the
// bounds; a lone event stays a plain event.
func appendBatches(out, its []*item) []*item {
	for len(its) > 0 {
		n, size := 0, 2
		for n < len(its) && n < maxBatchEvents && (n == 0 || size+len(its[n].data)+1 <= maxBatchBytes) {
			size += len(its[n].data) + 1
			n++
		}
		out = append(out, joinItems(its[:n], size))
		its = its[n:]
	}
	return out
}

// joinItems makes one item of its: a JSON array of their events.
func joinItems(its []*item, size int) *item {
	if len(its) == 1 {
		return its[0]
	}
	b := batchBuf(size)
	b = append(b, '[')
	for i, it := range its {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.data...)
	}
	b = append(b, ']')
	for _, it := range its {
		if it.pooled {
			putEventBuf(it.data)
			it.data, it.pooled = nil, false
		}
	}
	return &item{subject: its[0].subject, id: its[0].id + "+" + strconv.Itoa(len(its)), data: b, n: len(its), pooled: cap(b) == maxBatchBytes}
}

// events is how many events it holds (a batch read back from the spool
// is counted once).
func (it *item) events() int {
	if it.n > 0 {
		return it.n
	}
	it.n = 1
	if isBatch(it.data) {
		if evs, err := Events(it.data); err == nil && len(evs) > 0 {
			it.n = len(evs)
		}
	}
	return it.n
}

// eventBufs are encoding buffers of call events: an event is copied into
// its batch, and its own buffer is used again.
var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func eventBuf() []byte { return (*eventBufs.Get().(*[]byte))[:0] }

func putEventBuf(b []byte) {
	if cap(b) <= 16<<10 {
		eventBufs.Put(&b)
	}
}

// batchBufs are the buffers of batch messages, given back once JetStream
// has acknowledged the batch: at line rate one is published every few
// milliseconds, and allocating each would be most of audit's garbage.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, maxBatchBytes); return &b }}

// batchBuf is a buffer for a batch of size bytes: a pooled one when it
// fits, which it does within the bounds (a single event larger than a
// batch is sent alone, never joined).
func batchBuf(size int) []byte {
	if size > maxBatchBytes {
		return make([]byte, 0, size)
	}
	return (*batchBufs.Get().(*[]byte))[:0]
}

// release gives the item's pooled buffer back: only once nothing will read
// its data again (JetStream acknowledged it).
func (it *item) release() {
	if !it.pooled {
		return
	}
	if cap(it.data) == maxBatchBytes && isBatch(it.data) {
		b := it.data
		batchBufs.Put(&b)
	} else {
		putEventBuf(it.data)
	}
	it.data, it.pooled = nil, false
}
