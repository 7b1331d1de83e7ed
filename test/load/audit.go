package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// startAudit starts what `manifold serve` starts with the default audit
// configuration: an embedded NATS JetStream (in-process connections only,
// in a temporary directory) and the publisher, which the gateway then
// hands every finished request. At the end it flushes, and reports what
// it published or dropped.
func (st *stack) startAudit(plan *pipeline.Plan, log *slog.Logger) (event.Recorder, error) {
	dir, err := os.MkdirTemp("", "manifold-load-audit-")
	if err != nil {
		return nil, err
	}
	cfg := audit.From(plan.Gateway.Audit, plan.Gateway.Server.PublicURL, "")
	cfg.NATS, cfg.DataDir, cfg.InProcess = audit.Embedded, dir, true
	pub, err := audit.Start(context.Background(), cfg, log)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	st.closers = append(st.closers, func(ctx context.Context) error {
		err := pub.Close(ctx)
		if s := pub.Stats(); s.Dropped > 0 {
			slog.Warn("audit events dropped during the load", "dropped", s.Dropped, "published", s.Published)
		}
		_ = os.RemoveAll(dir)
		return err
	})
	return pub, nil
}
