package launch

import (
	"context"
	"log/slog"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/auth"
	"github.com/manifoldgw/manifold/internal/console"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/graphqlview"
	mcpserver "github.com/manifoldgw/manifold/internal/mcp"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/ratelimit"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
	"github.com/manifoldgw/manifold/openapi"
)

// features assembles the gateway's optional parts for a plan: each feature
// adds its hooks to the server options and, if it holds resources, a
// closer. This is the one place that shows which features are wired in.
type features struct {
	opts    server.Options
	closers []func()
	// onShutdown run when the listener starts draining (long-lived
	// streams end there, or they would hold the drain).
	onShutdown []func()
	// audit publishes audit events; nil when audit is off.
	audit *audit.Publisher
	// specs and calls feed the operator console (on the admin listener).
	specs *openapi.Specs
	calls *console.Ring
}

func (f *features) close() {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
}

// assemble builds every feature for plan. On error, what was built is
// closed.
// Every resource bound counts its refusals in refusals (nil: uncounted).
func assemble(plan *pipeline.Plan, log *slog.Logger, refusals *refusal.Counts) (*features, error) {
	f := &features{opts: server.Options{Logger: log, Refusals: refusals}}
	var recorders event.Recorders
	// Each feature below adds its hooks (Auth, Limiter, Validator,
	// Surfaces, recorders) and closers.

	// Security: who the caller is (API keys, JWT, introspection), how
	// often it may call, and its address behind trusted proxies. Auth and
	// limits are surfaces too, to follow each reloaded plan.
	// Trusted proxies follow reloads: a staged surface like auth.
	proxies, err := server.NewProxies(plan.Gateway.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	clientIP, via := proxies.ClientIP, proxies.Via
	authn, err := auth.New(context.Background(), plan.Gateway.Auth, plan.Gateway.Consumers, auth.Options{Logger: log, ClientIP: clientIP, Refusals: refusals})
	if err != nil {
		return nil, err
	}
	limits := ratelimit.New(plan.Gateway.Server.Rate, ratelimit.Options{ConsumerRate: authn.ConsumerRate})
	f.opts.ClientIP, f.opts.Via, f.opts.Auth, f.opts.Limiter = clientIP, via, authn, limits
	f.opts.Surfaces = append(f.opts.Surfaces, proxies, authn, limits)
	f.closers = append(f.closers, authn.Close)

	// OpenAPI: /openapi.json, /openapi.yaml and the plugin manifest, and
	// every REST request checked against the document before it runs.
	// Building the first plan's document here makes a broken one a start
	// error.
	specs := openapi.New(openapi.Options{Logger: log})
	if _, err := specs.For(plan); err != nil {
		f.close()
		return nil, err
	}
	f.opts.Surfaces = append(f.opts.Surfaces, specs)
	f.opts.Validator = specs
	f.specs = specs

	// MCP: every pipeline as a tool at /mcp, the OpenAPI document as a
	// resource. MCP and GraphQL check a call's input against the same
	// document as REST, so the three refuse the same input alike.
	mcpTools := mcpserver.New(mcpserver.Options{Logger: log, Spec: specJSON(specs), Specs: specs, Refusals: refusals})
	f.opts.Surfaces = append(f.opts.Surfaces, mcpTools)
	f.onShutdown = append(f.onShutdown, mcpTools.Close)

	// GraphQL: the view at /graphql (GraphiQL in a browser); every
	// finished call also feeds its runs subscription.
	gql := graphqlview.New(graphqlview.Options{Logger: log, Specs: specs, Refusals: refusals})
	f.opts.Surfaces = append(f.opts.Surfaces, gql)
	recorders = append(recorders, gql)
	f.onShutdown = append(f.onShutdown, gql.Close)

	// Audit: one event per finished call on NATS JetStream (an embedded
	// server by default); admin actions go to f.audit.Admin.
	if plan.Gateway.Audit.NATS != audit.Off {
		pub, err := audit.Start(context.Background(), audit.From(plan.Gateway.Audit, plan.Gateway.Server.PublicURL, plan.Dir), log)
		if err != nil {
			f.close()
			return nil, err
		}
		f.audit = pub
		recorders = append(recorders, pub)
		f.closers = append(f.closers, pub.Stop)
	}

	// Console: the last 15 minutes of calls, for the operator console.
	f.calls = console.NewRing(nil)
	recorders = append(recorders, f.calls)

	f.opts.Recorder = recorders
	return f, nil
}

// specJSON returns the OpenAPI document (JSON) the openapi surface built
// for a plan.
func specJSON(specs *openapi.Specs) func(*pipeline.Plan) ([]byte, error) {
	return func(plan *pipeline.Plan) ([]byte, error) {
		sp, err := specs.For(plan)
		if err != nil {
			return nil, err
		}
		return sp.JSON, nil
	}
}

// withTelemetry wires operations into the server options: the server
// span, HTTP metrics and access log line of every request, /metrics, the
// pipeline-call metrics and, with audit on, the audit readiness check and
// queue gauges (internal/telemetry).
func (f *features) withTelemetry(tel *telemetry.Telemetry) {
	f.opts.Observer = tel.Observer()
	f.opts.Surfaces = append(f.opts.Surfaces, tel.Surface())
	f.opts.Recorder = event.Recorders{tel.Metrics, f.opts.Recorder}
	if f.audit != nil {
		tel.Metrics.WatchAudit(auditStats(f.audit))
		f.opts.Readiness = append(f.opts.Readiness, server.Check{Name: "audit", Check: auditReady(f.audit)})
	}
}
