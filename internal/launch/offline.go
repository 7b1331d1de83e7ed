package launch

import (
	"log/slog"
	"net/http"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// OfflineOptions configure Offline.
type OfflineOptions struct {
	Logger *slog.Logger // nil: no logs
	// Transport wraps or replaces each upstream's round tripper
	// (server.BuildOptions.Transport).
	Transport func(upstream string, pool http.RoundTripper) http.RoundTripper
	// WrapAuth, if set, wraps the gateway's authenticator, so that a test
	// can act as a consumer without its credential.
	WrapAuth func(server.Authenticator) server.Authenticator
}

// Offline builds the gateway for plan as Serve does (authentication,
// rate limits, request validation against the OpenAPI document, the engine
// and each upstream's resilience stack) but with no listener, no audit
// (plan's audit is turned off), no telemetry and no admin API. `manifold
// test` serves its requests through the returned handler in process.
// close releases the gateway.
func Offline(plan *pipeline.Plan, opts OfflineOptions) (gw *server.Server, close func(), err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	plan.Gateway.Audit.NATS = audit.Off
	rt, err := server.BuildWith(plan, server.BuildOptions{Logger: log, Transport: opts.Transport})
	if err != nil {
		return nil, nil, err
	}
	feats, err := assemble(plan, log, nil, nil)
	if err != nil {
		rt.Close()
		return nil, nil, err
	}
	if opts.WrapAuth != nil {
		feats.opts.Auth = opts.WrapAuth(feats.opts.Auth)
	}
	gw = server.New(rt, feats.opts)
	return gw, func() {
		for _, fn := range feats.onShutdown {
			fn()
		}
		feats.close()
		gw.Runtime().Close()
	}, nil
}
