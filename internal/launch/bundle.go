package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// resync is how often a replica checks the newest revision besides its
// watch, in case the watch missed one while NATS failed over.
const resync = 5 * time.Second

// BundleSource is where a replica in bundle mode (manifold serve --nats,
// no --dir) gets its plans: the cluster's config bucket. Make it with
// WaitBundle, which also loads the first plan.
type BundleSource struct {
	store *bundle.Store
	lo    pipeline.LoadOptions

	mu      sync.Mutex
	want    *bundle.Revision // the newest revision seen, for the next load
	attempt uint64           // the revision the last load tried
	served  uint64           // the revision being served
	failed  uint64           // the newest revision that failed to build here
	errs    []string
}

// WaitBundle opens the cluster's config bucket on js, waiting until
// something was pushed (or ctx ends), and loads the newest revision with
// lo. A revision that does not load is an error: there is no older plan
// to keep serving.
func WaitBundle(ctx context.Context, js jetstream.JetStream, cluster string, lo pipeline.LoadOptions, log *slog.Logger) (*BundleSource, *pipeline.Plan, error) {
	s := &BundleSource{lo: lo}
	logged := false
	for {
		store, err := bundle.Open(ctx, js, cluster)
		if err == nil {
			s.store = store
			if plan, err := s.load(ctx); !errors.Is(err, bundle.ErrNoBundle) {
				if err == nil {
					s.served = s.attempt
				}
				return s, plan, err
			}
		} else if !errors.Is(err, bundle.ErrNoBundle) {
			log.Warn("cluster: cannot read the config bucket yet", "cluster", cluster, "err", err)
		}
		if !logged {
			log.Info("cluster: waiting for a config push", "cluster", cluster, "push", "manifold push DIR --nats URL --cluster "+cluster)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// revision is the revision served (0 for a nil source: a directory).
func (s *BundleSource) revision() uint64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// load loads the newest revision seen (the watch delivers it with its
// files), else asks the bucket for it: the reloader's load in bundle mode.
// A read of the bucket may be answered by a follower that lags a little;
// the watch's entry cannot be older than itself.
func (s *BundleSource) load(ctx context.Context) (*pipeline.Plan, error) {
	s.mu.Lock()
	r := s.want
	s.mu.Unlock()
	if r == nil {
		var err error
		if r, err = s.store.Get(ctx, 0); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.attempt = r.Revision
	s.mu.Unlock()
	plan, err := pipeline.Load(r.Bundle.FS(), "", s.lo)
	if err != nil {
		return nil, fmt.Errorf("revision %d: %w", r.Revision, err)
	}
	return plan, nil
}

// settled records the outcome of a reload: the revision attempted is
// served, or failed here (the previous one keeps serving).
func (s *BundleSource) settled(st admin.ReloadStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.OK {
		s.served, s.failed, s.errs = s.attempt, 0, nil
		return
	}
	if s.attempt > s.served {
		s.failed, s.errs = s.attempt, st.Errors
	}
}

// report fills the bundle part of a replica status.
func (s *BundleSource) report(st *bundle.ReplicaStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Failed, st.Errors = s.failed, s.errs
}

// watch reloads each new revision until ctx ends: from the bucket's
// watch, and every resync in case the watch lagged behind a failover.
func (s *BundleSource) watch(ctx context.Context, r *reloader, shared *Shared, changed func()) {
	var updates <-chan *bundle.Revision
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		if updates == nil {
			if ch, err := s.store.Watch(ctx); err == nil {
				updates = ch
			}
		}
		var rev *bundle.Revision
		select {
		case <-ctx.Done():
			return
		case r, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			rev = r
		case <-tick.C:
			r, err := s.store.Get(ctx, 0)
			if err != nil {
				continue
			}
			rev = r
		}
		latest := s.saw(rev)
		shared.latest.Store(max(shared.latest.Load(), latest))
		if s.pending(latest) {
			r.Reload(ctx, "push") // settled by the reloader
			changed()
		}
	}
}

// saw keeps rev for the next load if it is the newest seen, and returns
// the newest revision seen.
func (s *BundleSource) saw(rev *bundle.Revision) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.want == nil || rev.Revision > s.want.Revision {
		s.want = rev
	}
	return s.want.Revision
}

// pending reports whether revision latest is newer than both the one
// served and the last one that failed here.
func (s *BundleSource) pending(latest uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return latest > s.served && latest > s.failed
}

// attempted is the revision the last load tried (0 for a nil source).
func (s *BundleSource) attempted() uint64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempt
}
