// Package launch starts a whole gateway: the listener for a loaded plan,
// or the demo (backends, embedded pipelines and gateway in one process),
// and drains them on shutdown. cmd/manifold and the end-to-end tests share
// it, so the tests start exactly what a user starts.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/natsconn"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
	"github.com/manifoldgw/manifold/pipelines"
)

// DrainTimeout bounds how long shutdown waits for requests in flight.
const DrainTimeout = 30 * time.Second

// Options configure Serve and Demo.
type Options struct {
	// Listen overrides server.listen of gateway.yaml.
	Listen string
	Logger *slog.Logger
	// Ready, if set, is called with the listener's address once it accepts
	// connections.
	Ready func(addr string)
	// Recorder, if set, also receives every finished call (tests,
	// embedding).
	Recorder event.Recorder

	// Dir is the pipeline directory the plan was loaded from (with
	// LoadOptions). When set, the gateway reloads it when its files
	// change, on each receive from Reload and from the admin API.
	Dir         string
	LoadOptions pipeline.LoadOptions
	// Reload triggers a reload (SIGHUP in `manifold serve`).
	Reload <-chan struct{}
	// AdminListen and AdminKey override admin.listen and admin.key; the
	// admin API is served only with a key. AdminReady, if set, is called
	// with the admin listener's address.
	AdminListen, AdminKey string
	AdminReady            func(addr string)
	// TracerProvider replaces the one built from gateway.yaml's
	// telemetry (tests pass one with an in-memory exporter).
	TracerProvider trace.TracerProvider
	// LogLevel, if set, follows telemetry.log_level, at start and at each
	// reload (the CLI passes it unless --log-level was given).
	LogLevel *slog.LevelVar
	// DrainTimeout overrides the package's DrainTimeout.
	DrainTimeout time.Duration
	// ShutdownDelay keeps serving for that long after a stop signal while
	// /readyz answers "draining", so that load balancers stop sending
	// traffic before the listener closes (0: close at once).
	ShutdownDelay time.Duration
	// Version is reported as the service.version of traces and metrics.
	Version string
	// AccessLog, if set, is Logger's writer and format: access lines are
	// then written to it directly, bypassing slog's generic path.
	AccessLog *telemetry.AccessLog

	// NATS, if set, is the gateway's NATS connection, opened by the caller
	// (a replica whose plan comes from the cluster) and left open;
	// otherwise Serve opens the one of gateway.yaml's nats section when
	// audit or cluster mode needs it. Cluster overrides cluster.name of
	// gateway.yaml (and turns cluster mode on); Replica is this replica's
	// id (default ReplicaID()).
	NATS             *natsconn.Conn
	Cluster, Replica string
	// Bundle, if set, makes the plan come from the cluster's config
	// bundle (manifold serve --nats without --dir): Serve watches it for
	// new revisions instead of a directory.
	Bundle *BundleSource
	// Now is the clock of cache freshness and staleness (tests); nil:
	// time.Now.
	Now func() time.Time

	// load reloads the plan; nil: LoadDir(Dir, LoadOptions) if Dir is set.
	load func() (*pipeline.Plan, error)
	// bound is the listener's address, once Serve has it.
	bound string
}

// Serve runs the gateway for plan until ctx ends, then drains: the
// listener closes at once, /readyz says draining, requests in flight
// finish (up to the drain deadline), audit events are flushed, and Serve
// returns nil.
func Serve(ctx context.Context, plan *pipeline.Plan, opts Options) error {
	listen := opts.Listen
	if listen == "" {
		listen = plan.Gateway.Server.Listen
	}
	// Listening first lets a public_url derived from an ephemeral port
	// name the port got, in the documents built below.
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	opts.bound = ln.Addr().String()
	plan.Gateway.Bound(opts.bound)
	log, tel, err := observability(ctx, plan, opts)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel, log)
	shared, err := openShared(plan, opts, log)
	if err != nil {
		return err
	}
	defer shared.close()
	shared.served(plan, opts.Bundle.revision())
	if shared.breakers = shared.openBreakers(log); shared.breakers != nil {
		defer shared.breakers.Close()
	}
	rt, err := server.BuildWith(plan, buildOptions(tel, log, shared, opts.Now))
	if err != nil {
		return err
	}
	feats, err := assemble(plan, log, tel.Metrics.Refusals, shared)
	if err != nil {
		rt.Close()
		return err
	}
	defer feats.close()
	feats.withTelemetry(tel)
	feats.withCluster(plan, opts, log)
	if opts.Recorder != nil {
		feats.opts.Recorder = event.Recorders{feats.opts.Recorder, opts.Recorder}
	}
	gw := server.New(rt, feats.opts)
	defer func() { gw.Runtime().Close() }()
	tel.Metrics.WatchUpstreams(func() []*connectors.Upstream { return gw.Runtime().Upstreams() })
	srv := server.NewHTTPServer(gw, log)
	if err := server.Configure(srv, &plan.Gateway.Server, log); err != nil {
		return err
	}
	for _, fn := range feats.onShutdown {
		srv.RegisterOnShutdown(fn)
	}
	ops, err := startOps(plan, gw, tel, feats, opts, log)
	if err != nil {
		return err
	}
	defer ops.stop()
	log.Info("gateway listening", "addr", ln.Addr().String(), "pipelines", len(plan.Pipelines))
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return drain(gw, srv, errc, opts, log)
}

// drain stops accepting, lets the requests in flight finish until the
// drain deadline, then cuts the ones left. Audit events are flushed after
// it returns (the features' closers).
func drain(gw *server.Server, srv *http.Server, errc <-chan error, opts Options, log *slog.Logger) error {
	deadline := opts.DrainTimeout
	if deadline <= 0 {
		deadline = DrainTimeout
	}
	gw.StartDrain()
	if opts.ShutdownDelay > 0 {
		log.Info("shutting down: /readyz reports draining; still serving", "for", opts.ShutdownDelay)
		time.Sleep(opts.ShutdownDelay)
	}
	log.Info("shutting down: draining requests in flight", "deadline", deadline, "in_flight", gw.Runtime().Active())
	sctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("drain deadline passed: cutting the requests still in flight", "in_flight", gw.Runtime().Active())
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("drained")
	return nil
}

// shutdownTelemetry flushes the spans still buffered.
func shutdownTelemetry(tel *telemetry.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "err", err)
	}
}

// Demo starts the demo backends, loads the embedded demo pipelines against
// them and serves until ctx ends. It prints the URLs to try to out.
func Demo(ctx context.Context, opts Options, out io.Writer) error {
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		return fmt.Errorf("demo backends: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
		defer cancel()
		_ = backends.Shutdown(sctx)
	}()
	// The demo's embedded NATS keeps its audit stream in a temporary
	// directory: the demo runs from anywhere (./data need not be
	// writable) and two demos never share a store.
	auditDir, err := os.MkdirTemp("", "manifold-demo-audit-")
	if err != nil {
		return fmt.Errorf("demo audit directory: %w", err)
	}
	defer os.RemoveAll(auditDir)
	// With opts.Dir the pipelines come from that directory (and reload
	// when it changes), else from the embedded demo set.
	lo := pipeline.LoadOptions{LookupEnv: demoEnv(backends), Listen: opts.Listen}
	opts.load = func() (*pipeline.Plan, error) {
		plan, err := pipeline.Load(pipelines.FS, "pipelines", lo)
		if opts.Dir != "" {
			plan, err = pipeline.LoadDir(opts.Dir, lo)
		}
		if err != nil {
			return nil, err
		}
		plan.Gateway.Audit.DataDir = auditDir
		return plan, nil
	}
	plan, err := opts.load()
	if err != nil {
		return err
	}
	ready := opts.Ready
	opts.Ready = func(addr string) {
		printTry(out, BaseURL(addr), backends)
		if ready != nil {
			ready(addr)
		}
	}
	return Serve(ctx, plan, opts)
}

func printTry(out io.Writer, base string, b *demo.Backends) {
	fmt.Fprintf(out, "Manifold demo is up at %s. Try:\n", base)
	for _, path := range []string{
		"/v1/cities/Berlin/deals?lang=de",
		"/v1/products?q=milk&lang=fr",
		"/v1/markets/nearest?lat=52.52&lon=13.405&radius_km=3",
		"/v1/cities/Atlantis/deals",
	} {
		fmt.Fprintf(out, "  curl '%s%s'\n", base, path)
	}
	// placeOrder needs role buyer: the demo-only key of the README.
	fmt.Fprintf(out, "  curl -X POST '%s/v1/orders' -H 'X-API-Key: demo-buyer-key' -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"market_id\":\"ber-01\",\"items\":[{\"product_id\":\"p1001\",\"quantity\":2}]}'\n", base)
	fmt.Fprintf(out, "Backends: products %s, markets %s, deals %s, translation %s\nCtrl-C stops.\n",
		b.Products, b.Markets, b.Deals, b.Translation)
}

// LoadDemo loads the embedded demo directory with the backends' URLs.
func LoadDemo(b *demo.Backends) (*pipeline.Plan, error) {
	return pipeline.Load(pipelines.FS, "pipelines", pipeline.LoadOptions{LookupEnv: demoEnv(b)})
}

// demoEnv resolves ${NAME} with the backends' URLs first.
func demoEnv(b *demo.Backends) func(string) (string, bool) {
	env := b.Env()
	return func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
}

// BaseURL turns a listener address into a URL a user can paste.
func BaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
