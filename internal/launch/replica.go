package launch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// reporter keeps this replica's entry in the cluster's status bucket: the
// plan it serves and, in bundle mode, the newest revision it could not
// build. It writes on every change and every StatusTTL/3, so that a dead
// replica's entry expires.
type reporter struct {
	shared *Shared
	src    *BundleSource // nil: the plan comes from a directory
	addr   string
	log    *slog.Logger
	kick   chan struct{}

	mu       sync.Mutex
	statuses *bundle.Statuses // nil until the bucket could be opened
	failedAt time.Time        // when the failed revision was first reported
}

func newReporter(shared *Shared, src *BundleSource, addr string, log *slog.Logger) *reporter {
	return &reporter{shared: shared, src: src, addr: addr, log: log, kick: make(chan struct{}, 1)}
}

// changed asks for the status to be written now.
func (rp *reporter) changed() {
	select {
	case rp.kick <- struct{}{}:
	default:
	}
}

// run writes the status until ctx ends.
func (rp *reporter) run(ctx context.Context) {
	tick := time.NewTicker(bundle.StatusTTL / 3)
	defer tick.Stop()
	for {
		rp.write(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-rp.kick:
		}
	}
}

func (rp *reporter) open(ctx context.Context) *bundle.Statuses {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.statuses != nil {
		return rp.statuses
	}
	js, err := jetstream.New(rp.shared.Conn.NC)
	if err != nil {
		return nil
	}
	if rp.statuses, err = bundle.OpenStatuses(ctx, js, rp.shared.Cluster); err != nil {
		rp.log.Warn("cluster: cannot open the replica status bucket yet", "err", err)
	}
	return rp.statuses
}

// status is this replica's status now.
func (rp *reporter) status() bundle.ReplicaStatus {
	p := rp.shared.Plan()
	st := bundle.ReplicaStatus{Replica: rp.shared.Replica, Address: rp.addr, Revision: p.Revision, Hash: p.Hash,
		Started: rp.shared.Started, At: time.Now().UTC()}
	if rp.src != nil {
		rp.src.report(&st)
	}
	return st
}

func (rp *reporter) write(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s := rp.open(wctx)
	if s == nil {
		return
	}
	st := rp.status()
	rp.mu.Lock()
	switch {
	case st.Failed == 0:
		rp.failedAt = time.Time{}
	case rp.failedAt.IsZero():
		rp.failedAt = time.Now()
	}
	rp.mu.Unlock()
	if err := s.Put(wctx, st); err != nil && ctx.Err() == nil {
		rp.log.Warn("cluster: cannot report this replica's status", "err", err)
	}
}

// staleCheck is the readiness check of bundle mode: not ready once this
// replica has failed to build a revision that another replica serves, for
// longer than grace. A revision no replica can build leaves them all
// ready on the previous one: taking the whole cluster out of the load
// balancer would not help anyone.
func (rp *reporter) staleCheck(grace time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		st := rp.status()
		rp.mu.Lock()
		since, s := rp.failedAt, rp.statuses
		rp.mu.Unlock()
		if st.Failed == 0 || since.IsZero() || time.Since(since) < grace || s == nil {
			return nil
		}
		others, err := s.List(ctx)
		if err != nil {
			return nil // NATS away: keep serving what we have
		}
		for _, o := range others {
			if o.Replica != st.Replica && o.Revision >= st.Failed {
				return fmt.Errorf("serving revision %d: revision %d failed here (%d error(s)) but replica %s serves it",
					st.Revision, st.Failed, len(st.Errors), o.Replica)
			}
		}
		return nil
	}
}

// withCluster wires cluster mode into the features: the replica's status
// reporter and, in bundle mode, the readiness check of a replica left
// behind (cluster.stale_after). Nothing outside cluster mode.
func (f *features) withCluster(plan *pipeline.Plan, opts Options, log *slog.Logger) {
	if !f.shared.Clustered() || f.shared.Conn == nil {
		return
	}
	f.reporter = newReporter(f.shared, opts.Bundle, opts.bound, log)
	if grace := plan.Gateway.Cluster.Stale(); opts.Bundle != nil && grace > 0 {
		f.opts.Readiness = append(f.opts.Readiness, server.Check{Name: "plan", Check: f.reporter.staleCheck(grace)})
	}
}

// startCluster runs the replica's status reporter and, in bundle mode,
// the watch that reloads each pushed revision.
func (o *ops) startCluster(ctx context.Context, feats *features, opts Options) {
	rp := feats.reporter
	if rp == nil {
		return
	}
	o.done.Go(func() { rp.run(ctx) })
	if src := opts.Bundle; src != nil {
		o.done.Go(func() { src.watch(ctx, o.reloader, feats.shared, rp.changed) })
	}
}
