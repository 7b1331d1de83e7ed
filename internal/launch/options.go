package launch

import (
	"log/slog"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// features assembles the gateway's optional parts for a plan: each feature
// adds its hooks to the server options and, if it holds resources, a
// closer. This is the one place that shows which features are wired in.
type features struct {
	opts    server.Options
	closers []func()
}

func (f *features) close() {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
}

// assemble builds every feature for plan. On error, what was built is
// closed.
func assemble(plan *pipeline.Plan, log *slog.Logger) (*features, error) {
	f := &features{opts: server.Options{Logger: log}}
	var recorders event.Recorders
	// Each feature below adds its hooks (Auth, Limiter, Validator,
	// Surfaces, recorders) and closers.

	f.opts.Recorder = recorders
	return f, nil
}
