package launch

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/ratelimit"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
)

// What cluster mode adds to one replica, each on the gateway's one NATS
// connection (Shared): breakers marked shared, rate limits held across
// the cluster, and the control plane that fans admin actions out. Outside
// cluster mode each is off and costs nothing.

// sharedBreakersTimeout bounds creating the breakers' bucket at start.
const sharedBreakersTimeout = 10 * time.Second

// openBreakers opens the cluster's breaker store for `breaker: {shared:
// true}` upstreams; nil outside cluster mode. A store that cannot be
// opened leaves those breakers local, and says so: calls never fail
// because of NATS.
func (s *Shared) openBreakers(log *slog.Logger) *connectors.SharedBreakers {
	if !s.Clustered() || s.Conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBreakersTimeout)
	defer cancel()
	open := func(replicas int) (*connectors.SharedBreakers, error) {
		return connectors.NewSharedBreakers(ctx, s.Conn.NC, s.Cluster, connectors.SharedBreakersOptions{Replicas: replicas, Logger: log})
	}
	// Three copies on a JetStream cluster, one on a single server.
	sb, err := open(3)
	if err != nil {
		sb, err = open(1)
	}
	if err != nil {
		log.Warn("cluster: shared breakers stay local: their bucket cannot be opened", "err", err)
		return nil
	}
	return sb
}

// joinRateLimits makes the configured rate limits hold across the
// cluster; outside cluster mode the limits stay local.
func (f *features) joinRateLimits(limits *ratelimit.Limiter, log *slog.Logger) error {
	if !f.shared.Clustered() || f.shared.Conn == nil {
		return nil
	}
	err := limits.JoinCluster(ratelimit.ClusterOptions{Conn: f.shared.Conn.NC, Cluster: f.shared.Cluster, Replica: f.shared.Replica, Logger: log})
	if err != nil {
		return err
	}
	f.limits = limits
	f.closers = append(f.closers, limits.Close)
	return nil
}

// watchCluster exports the cluster's gauges.
func (f *features) watchCluster(tel *telemetry.Telemetry) {
	if f.limits != nil {
		tel.Metrics.WatchRateLimit(f.limits.ClusterState)
	}
}

// startControl registers the replica in the NATS services API (status,
// reload, purge, breaker), so that admin actions asked anywhere reach it;
// nil outside cluster mode.
func (o *ops) startControl(gw *server.Server, feats *features, opts Options, log *slog.Logger) (*control.Service, error) {
	shared := feats.shared
	if !shared.Clustered() || shared.Conn == nil {
		return nil, nil
	}
	var reloader admin.Reloader
	if o.reloader.load != nil {
		reloader = o.reloader
	}
	acts := admin.NewActions(admin.Options{Server: gw, Reloader: reloader, Audit: o.reloader.audit, Logger: log})
	return control.Start(shared.Conn.NC, control.Config{
		Cluster: shared.Cluster, Replica: shared.Replica, Address: opts.bound, Version: opts.Version,
		Plan: func() control.Plan {
			p := shared.Plan()
			return control.Plan{Revision: strconv.FormatUint(p.Revision, 10), Hash: p.Hash}
		},
		Local: acts, Logger: log,
	})
}
