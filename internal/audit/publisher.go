package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/natsconn"
)

// dropLogEvery spaces the log lines about dropped events; each carries
// the running count.
const dropLogEvery = 5 * time.Second

// Publisher publishes audit events to JetStream. It is an event.Recorder;
// Admin publishes admin actions and reloads. Start it with Start, stop it
// with Close.
type Publisher struct {
	cfg   Config
	log   *slog.Logger
	queue chan *entry
	spool *spool // nil when the data directory cannot hold one
	conn  *natsconn.Conn
	quit  func() // releases what open took (the connection if its own)
	nc    *nats.Conn
	js    jetstream.JetStream

	wake    chan struct{}
	closing chan context.Context
	done    chan struct{}
	closed  atomic.Bool

	published, duplicates, retried, spooled, dropped atomic.Uint64
	inFlight                                         atomic.Int64
	lastDropLog                                      atomic.Int64
}

var _ event.Recorder = (*Publisher)(nil)

// Stats are the publisher's counters, for metrics and tests.
type Stats struct {
	Queued       int    // events waiting in memory
	InFlight     int    // events published, acknowledgement pending
	Published    uint64 // events acknowledged by JetStream (duplicates included)
	Duplicates   uint64 // acknowledgements of an event JetStream already had (a retry after a lost ack)
	Retried      uint64 // events sent again after a failed or missing acknowledgement
	Spooled      uint64 // events written to the disk spool
	SpoolPending int    // spooled messages (events or batches) not yet acknowledged
	SpoolBytes   int64  // bytes of spool files on disk
	Dropped      uint64 // events lost because the spool was full or unusable
	Connected    bool   // connected to NATS now
}

// Start starts audit for cfg: the embedded server when cfg.NATS is
// "embedded", the connection, the stream and the publishing goroutine.
// It fails on a configuration the server rejects; an external NATS that
// is merely unreachable is not an error (events are spooled).
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Publisher, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{
		cfg: cfg, log: log, queue: make(chan *entry, cfg.QueueSize),
		wake: make(chan struct{}, 1), closing: make(chan context.Context, 1), done: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	embedded := cfg.NATS == Embedded
	p.spool, err = openSpool(filepath.Join(cfg.DataDir, "spool"), cfg.SpoolMaxBytes, func(err error) {
		log.Error("audit: spooled events lost to a damaged spool file", "err", err)
	})
	if err != nil && embedded {
		return nil, err // the embedded store needs the directory too
	} else if err != nil {
		log.Error("audit: no spool; while NATS is unreachable events are dropped and counted", "err", err)
	}
	if p.conn, p.quit, err = open(cfg, log, p.signal); err != nil {
		return nil, err
	}
	p.nc = p.conn.NC
	p.js, err = jetstream.New(p.nc,
		jetstream.WithPublishAsyncMaxPending(4*cfg.Window),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := p.setupStream(ctx, embedded); err != nil {
		return nil, err
	}
	if n, _ := p.spoolLen(); n > 0 {
		log.Info("audit: delivering events spooled by an earlier run", "events", n)
	}
	go p.run()
	return p, nil
}

// setupStream creates or updates the stream. A rejection by the server
// (bad limits, replicas without a cluster, permissions) fails the start;
// an unreachable server is retried before the first publish.
func (p *Publisher) setupStream(ctx context.Context, embedded bool) error {
	if !p.nc.IsConnected() {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	err := ensureStream(sctx, p.js, p.cfg)
	var apiErr *jetstream.APIError
	if err == nil || (!embedded && !errors.As(err, &apiErr)) {
		if err != nil {
			p.log.Warn("audit: cannot set up the stream yet; retrying before publishing", "err", err)
		}
		return nil
	}
	return err
}

// Record implements event.Recorder: it queues the call and returns at
// once. When the queue is full, the event goes to the spool right away
// (the only case where Record touches the disk).
func (p *Publisher) Record(ctx context.Context, c *event.Call) {
	p.enqueue(newEntry(ctx, c, nil))
}

// Admin publishes an admin action or a configuration reload on
// <subject>.admin. details must hold no secrets; it is encoded at once, so
// the caller may reuse it.
func (p *Publisher) Admin(ctx context.Context, action string, details map[string]any) error {
	e := newEntry(ctx, nil, &AdminData{Action: action, Details: details})
	it, err := e.encode(&p.cfg)
	if err != nil {
		return fmt.Errorf("audit: admin event %q: %w", action, err)
	}
	e.encoded = it
	p.enqueue(e)
	return nil
}

func (p *Publisher) enqueue(e *entry) {
	if p.closed.Load() {
		p.drop("recorded after close")
		return
	}
	select {
	case p.queue <- e:
	default:
		p.overflow(e)
	}
}

// overflow spools an event the queue has no room for.
func (p *Publisher) overflow(e *entry) {
	it, err := e.item(&p.cfg)
	if err != nil {
		p.log.Error("audit: cannot encode event", "err", err)
		p.drop("encoding")
		return
	}
	p.toSpool(it)
}

// toSpool writes it to the spool, or drops and counts it.
func (p *Publisher) toSpool(it *item) {
	n := it.events()
	if p.spool == nil {
		p.dropN("no spool", n)
		return
	}
	switch err := p.spool.append(it); {
	case errors.Is(err, ErrSpoolFull):
		p.dropN("spool full", n)
	case err != nil:
		p.log.Error("audit: cannot write to the spool", "err", err)
		p.dropN("spool write failed", n)
	default:
		p.spooled.Add(uint64(n))
	}
}

// drop counts a lost event and logs the count, at most every few seconds.
func (p *Publisher) drop(reason string) { p.dropN(reason, 1) }

// dropN counts n lost events (a batch) and logs the count.
func (p *Publisher) dropN(reason string, events int) {
	n := p.dropped.Add(uint64(events))
	now, last := time.Now().UnixNano(), p.lastDropLog.Load()
	if now-last >= int64(dropLogEvery) && p.lastDropLog.CompareAndSwap(last, now) {
		p.log.Error("audit: events dropped", "reason", reason, "dropped_total", n,
			"spool_max_bytes", p.cfg.SpoolMaxBytes)
	}
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Publisher) spoolLen() (int, int64) {
	if p.spool == nil {
		return 0, 0
	}
	return p.spool.len()
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	n, b := p.spoolLen()
	return Stats{
		Queued: len(p.queue), InFlight: int(p.inFlight.Load()),
		Published: p.published.Load(), Duplicates: p.duplicates.Load(), Retried: p.retried.Load(),
		Spooled: p.spooled.Load(), SpoolPending: n, SpoolBytes: b, Dropped: p.dropped.Load(),
		Connected: p.nc != nil && p.nc.IsConnected(),
	}
}

// URL returns the embedded server's client URL, or "" when there is no
// listener (external NATS, in-process only).
func (p *Publisher) URL() string {
	if p.conn == nil {
		return ""
	}
	return p.conn.URL()
}

// Close publishes what is queued and waits for its acknowledgements until
// ctx ends; whatever is still unacknowledged then is spooled for the next
// start. It then closes the connection and stops the embedded server.
func (p *Publisher) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		<-p.done
		return nil
	}
	p.closing <- ctx
	<-p.done
	// A Record racing with Close may have queued after the loop ended.
	for len(p.queue) > 0 {
		p.overflow(<-p.queue)
	}
	s := p.Stats()
	p.log.Info("audit: closed", "published", s.Published, "spooled_pending", s.SpoolPending, "dropped", s.Dropped)
	return p.release()
}

// Stop is Close with DefaultCloseTimeout, for shutdown hooks.
func (p *Publisher) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseTimeout)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		p.log.Warn("audit: close", "err", err)
	}
}

// release closes what Start opened.
func (p *Publisher) release() error {
	var err error
	if p.spool != nil {
		err = p.spool.close()
	}
	if p.quit != nil {
		p.quit()
	}
	return err
}
