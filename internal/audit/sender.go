package audit

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Retry pacing after a failed publish or acknowledgement (a reconnect
// cuts the wait short), and the bound of bytes in flight.
const (
	maxInflightBytes = 1 << 20
	minBackoff       = 100 * time.Millisecond
	streamTimeout    = 2 * time.Second
)

// flight is a published event waiting for its acknowledgement.
type flight struct {
	it  *item
	fut jetstream.PubAckFuture
}

// sender is the state of the publishing goroutine. In direct mode events
// go from the queue to JetStream; in spool mode (NATS down, or a failure
// being retried) every event goes through the spool, which is replayed in
// order, and direct mode resumes once it is empty. Events in flight are
// acknowledged in order; a failure sends them, and what follows, again.
type sender struct {
	p        *Publisher
	inflight []flight
	// inflightBytes is the size of the messages in flight: with batches
	// of up to 64 KiB, the count alone would not bound memory.
	inflightBytes int
	spooling      bool
	backoff       time.Duration
	retry         *time.Timer // set while waiting before a retry
	stream        bool        // the stream must be ensured before the next replay
	closing       context.Context
	// held is the first event of a batch, taken from the queue when
	// linger started; the rest wait in the queue until linger fires.
	unsure  uncertain // what was in flight at the last failure
	held    *entry
	linger  *time.Timer
	scratch []*entry // collect's buffer, reused
}

func (p *Publisher) run() {
	defer close(p.done)
	n, _ := p.spoolLen()
	s := &sender{p: p, spooling: n > 0, stream: n > 0}
	for {
		if s.closing != nil && s.finished() {
			return
		}
		s.replay()
		if !s.step() {
			return
		}
	}
}

// step waits for one thing to happen and handles it; false means stop.
func (s *sender) step() bool {
	p := s.p
	var queue <-chan *entry
	var linger <-chan time.Time
	if s.linger != nil {
		linger = s.linger.C
	} else if s.room() {
		queue = p.queue
	}
	var okc <-chan *jetstream.PubAck
	var errc <-chan error
	if len(s.inflight) > 0 {
		okc, errc = s.inflight[0].fut.Ok(), s.inflight[0].fut.Err()
	}
	var retry <-chan time.Time
	if s.retry != nil {
		retry = s.retry.C
	}
	var closing <-chan context.Context
	var deadline <-chan struct{}
	if s.closing == nil {
		closing = p.closing
	} else {
		deadline = s.closing.Done()
	}
	select {
	case e := <-queue:
		s.gather(e)
	case <-linger:
		s.batch()
	case ack := <-okc:
		s.acked(ack)
	case err := <-errc:
		s.failed(err)
	case <-retry:
		s.retry = nil
	case <-p.wake:
		s.stopRetry()
		s.stream = true
	case ctx := <-closing:
		s.closing = ctx
		s.batch() // no more lingering
	case <-deadline:
		s.abandon()
		return false
	}
	return true
}

// room reports whether more events may be taken from the queue now.
func (s *sender) room() bool {
	return s.spooling || (len(s.inflight) < s.p.cfg.Window && s.inflightBytes < maxInflightBytes)
}

// gather starts a batch with e: unless the queue is already long (or the
// publisher closing), the events arriving in the next Linger are sent
// together with it.
func (s *sender) gather(e *entry) {
	if s.closing != nil || s.p.cfg.Linger < 0 || len(s.p.queue) >= s.p.cfg.Window/4 {
		s.takeAll(s.collect(e))
		s.drain()
		return
	}
	s.held, s.linger = e, time.NewTimer(s.p.cfg.Linger)
}

// batch sends the held event and what queued up behind it.
func (s *sender) batch() {
	if s.linger != nil {
		s.linger.Stop()
		s.linger = nil
	}
	if s.held != nil {
		s.takeAll(s.collect(s.held))
		s.held = nil
	}
	s.drain()
}

// drain takes the queued events, as many as the window allows.
func (s *sender) drain() {
	for s.room() && len(s.p.queue) > 0 {
		s.takeAll(s.collect(nil))
	}
}

// collect returns first (if any) and the events queued behind it, up to
// one batch's worth.
func (s *sender) collect(first *entry) []*entry {
	es := s.scratch[:0]
	if first != nil {
		es = append(es, first)
	}
	for len(es) < maxBatchEvents && len(s.p.queue) > 0 {
		es = append(es, <-s.p.queue)
	}
	s.scratch = es
	return es
}

// takeAll encodes es and sends them as batches, one per pipeline.
func (s *sender) takeAll(es []*entry) {
	its := make([]*item, 0, len(es))
	for i, e := range es {
		it, err := e.item(&s.p.cfg)
		es[i] = nil
		if err != nil {
			s.p.log.Error("audit: cannot encode event", "err", err)
			s.p.drop("encoding")
			continue
		}
		its = append(its, it)
	}
	s.checkSpool()
	if s.spooling {
		// Spooled one by one: a batch could only be kept or dropped
		// whole at the spool's bound.
		for _, it := range its {
			s.p.toSpool(it)
		}
		return
	}
	for _, it := range batchItems(its) {
		s.take(it)
	}
}

// checkSpool enters spool mode when NATS is unreachable or the spool holds
// events (an overflow Record spooled): those go first.
func (s *sender) checkSpool() {
	if s.spooling {
		return
	}
	if n, _ := s.p.spoolLen(); n > 0 || !s.p.nc.IsConnected() {
		s.enterSpool()
	}
}

// take handles one message: an event or a batch.
func (s *sender) take(it *item) {
	s.checkSpool()
	if s.spooling {
		s.p.toSpool(it)
		return
	}
	if err := s.publish(it); err != nil {
		s.failed(err) // spools what is in flight, then it
		s.p.toSpool(it)
	}
}

func (s *sender) publish(it *item) error {
	msg := &nats.Msg{Subject: it.subject, Data: it.data, Header: nats.Header{}}
	msg.Header.Set("Content-Type", ContentType)
	if isBatch(it.data) {
		msg.Header.Set("Content-Type", BatchContentType)
	}
	fut, err := s.p.js.PublishMsgAsync(msg, jetstream.WithMsgID(it.id), jetstream.WithExpectStream(s.p.cfg.Stream))
	if err != nil {
		return err
	}
	s.inflight = append(s.inflight, flight{it: it, fut: fut})
	s.inflightBytes += len(it.data)
	s.p.inFlight.Store(int64(len(s.inflight)))
	return nil
}

// acked pops the acknowledged head, then every following event whose
// acknowledgement is already there.
func (s *sender) acked(ack *jetstream.PubAck) {
	for {
		s.pop(ack)
		if len(s.inflight) == 0 {
			break
		}
		select {
		case ack = <-s.inflight[0].fut.Ok():
			continue
		case err := <-s.inflight[0].fut.Err():
			s.failed(err)
			return
		default:
		}
		break
	}
	if s.spooling && len(s.inflight) == 0 {
		if n, _ := s.p.spoolLen(); n == 0 {
			s.spooling = false
			s.p.log.Info("audit: spooled events delivered; publishing directly again")
		}
	}
}

func (s *sender) pop(ack *jetstream.PubAck) {
	f := s.inflight[0]
	s.inflight[0] = flight{}
	s.inflight = s.inflight[1:]
	s.inflightBytes -= len(f.it.data)
	s.p.inFlight.Store(int64(len(s.inflight)))
	s.p.published.Add(uint64(f.it.events()))
	s.unsure.acked(ack)
	if ack != nil && ack.Duplicate {
		s.p.duplicates.Add(1)
	}
	if f.it.end != (pos{}) {
		s.p.spool.ack(f.it.end)
	}
	f.it.release()
	s.backoff = 0
}

// failed handles a failed publish or acknowledgement: everything in
// flight is sent again, in order, from the spool, after a pause.
func (s *sender) failed(err error) {
	s.unsure.note(s.inflight)
	for _, f := range s.inflight {
		s.p.retried.Add(uint64(f.it.events()))
	}
	if s.spooling {
		s.inflight, s.inflightBytes = nil, 0
		s.p.spool.rewind()
	} else {
		s.enterSpool()
	}
	s.p.inFlight.Store(0)
	s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
	s.stopRetry()
	s.retry = time.NewTimer(s.backoff)
	s.stream = true
	s.p.log.Warn("audit: publish not acknowledged; events are spooled and sent again", "err", err, "retry_in", s.backoff)
}

// enterSpool switches to spool mode: events in flight go to the spool
// first, in order, so that they are sent again before anything newer.
func (s *sender) enterSpool() {
	if s.spooling {
		return
	}
	s.spooling = true
	for _, f := range s.inflight {
		s.p.toSpool(f.it)
	}
	s.inflight, s.inflightBytes = nil, 0
	s.p.inFlight.Store(0)
}

// replay publishes spooled events while NATS is up, up to the window.
func (s *sender) replay() {
	p := s.p
	if !s.spooling || s.retry != nil || !p.nc.IsConnected() {
		return
	}
	if s.stream {
		ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
		err := ensureStream(ctx, p.js, p.cfg)
		cancel()
		if err != nil {
			s.failed(err)
			return
		}
		s.stream = false
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	err := s.unsure.resolve(ctx, p.js, p.cfg)
	cancel()
	if err != nil {
		s.failed(err)
		return
	}
	if p.spool == nil { // nothing was kept: publish directly again
		s.spooling = false
		return
	}
	if s.inflightBytes >= maxInflightBytes {
		return // acknowledgements first
	}
	items, err := p.spool.next(p.cfg.Window - len(s.inflight))
	for _, it := range items {
		if len(s.inflight) == 0 && s.unsure.skip(it) {
			// Stored before the outage, acknowledgement lost.
			p.spool.ack(it.end)
			p.published.Add(uint64(it.events()))
			p.duplicates.Add(uint64(it.events()))
			continue
		}
		if err = s.publish(it); err != nil {
			break
		}
	}
	if err != nil {
		s.failed(err)
		return
	}
	if len(items) == 0 && len(s.inflight) == 0 {
		if n, _ := p.spoolLen(); n == 0 {
			s.spooling = false
		} else {
			p.spool.rewind() // unacknowledged but read: read again
		}
	}
}

func (s *sender) stopRetry() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry = nil
	}
}

// finished reports whether a closing publisher is done: nothing queued
// or in flight, and the spool delivered unless NATS is unreachable (then
// it stays on disk for the next start).
func (s *sender) finished() bool {
	if len(s.p.queue) > 0 || len(s.inflight) > 0 || s.held != nil {
		return false
	}
	if n, _ := s.p.spoolLen(); n == 0 || !s.p.nc.IsConnected() {
		return true
	}
	return false
}

// abandon runs at the close deadline: what is in flight or queued goes to
// the spool, for the next start.
func (s *sender) abandon() {
	if s.spooling {
		s.inflight, s.inflightBytes = nil, 0
		s.p.spool.rewind()
	} else {
		s.enterSpool()
	}
	if s.held != nil {
		s.p.overflow(s.held)
		s.held = nil
	}
	for len(s.p.queue) > 0 {
		s.p.overflow(<-s.p.queue)
	}
	s.stopRetry()
}
