package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/console"
	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
)

// ops is what operators use while the gateway runs: hot reload (file
// changes, signals, admin API) and the admin listener.
type ops struct {
	reloader *reloader
	admin    *http.Server     // nil when admin.key is not set
	console  *console.Console // nil when admin.key is not set
	control  *control.Service // nil outside cluster mode
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// startOps starts the reload loop and the admin listener.
func startOps(plan *pipeline.Plan, gw *server.Server, tel *telemetry.Telemetry, feats *features, opts Options, log *slog.Logger) (*ops, error) {
	drain := opts.DrainTimeout
	if drain <= 0 {
		drain = DrainTimeout
	}
	now := time.Now()
	r := &reloader{
		srv: gw, build: buildOptions(tel, log, feats.shared, opts.Now), log: log, metrics: tel.Metrics, level: opts.LogLevel, drain: drain,
		status: admin.ReloadStatus{OK: true, Trigger: "start", At: now, ServingSince: now, Pipelines: len(plan.Pipelines)},
	}
	r.first = r.status
	if feats.audit != nil {
		r.audit = feats.audit.Admin
	}
	r.load = opts.load
	if src := opts.Bundle; src != nil {
		r.settled = src.settled
		r.load = func() (*pipeline.Plan, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return src.load(ctx)
		}
	}
	if shared := feats.shared; shared != nil {
		r.swapped = func(plan *pipeline.Plan) { shared.served(plan, opts.Bundle.attempted()) }
	}
	if r.load == nil && opts.Dir != "" {
		dir, lo := opts.Dir, opts.LoadOptions
		r.load = func() (*pipeline.Plan, error) { return pipeline.LoadDir(dir, lo) }
	}
	if load, addr := r.load, opts.bound; load != nil && addr != "" {
		// A reloaded plan names the port served, as the first one does.
		r.load = func() (*pipeline.Plan, error) {
			plan, err := load()
			if err == nil {
				plan.Gateway.Bound(addr)
			}
			return plan, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &ops{reloader: r, cancel: cancel}
	if opts.Dir != "" || opts.Reload != nil {
		w, err := watcher(opts.Dir)
		if err != nil {
			log.Warn("hot reload on file changes is off", "err", err)
		}
		o.done.Go(func() { r.watch(ctx, w, opts.Reload) })
	}
	o.startCluster(ctx, feats, opts)
	ctl, err := o.startControl(gw, feats, opts, log)
	if err != nil {
		o.stop()
		return nil, err
	}
	o.control = ctl
	if err := o.startAdmin(plan, gw, tel, feats, opts, log); err != nil {
		o.stop()
		return nil, err
	}
	return o, nil
}

// startAdmin serves the admin API on its own listener when there is an
// admin key.
func (o *ops) startAdmin(plan *pipeline.Plan, gw *server.Server, tel *telemetry.Telemetry, feats *features, opts Options, log *slog.Logger) error {
	key, listen := plan.Gateway.Admin.Key, plan.Gateway.Admin.Listen
	if opts.AdminKey != "" {
		key = opts.AdminKey
	}
	if opts.AdminListen != "" {
		listen = opts.AdminListen
	}
	if key == "" {
		log.Info("admin API off: set admin.key in gateway.yaml to turn it on")
		return nil
	}
	var reloader admin.Reloader
	if o.reloader.load != nil {
		reloader = o.reloader
	}
	aopts := admin.Options{Key: key, Server: gw, Reloader: reloader, Metrics: tel.MetricsHandler(), Audit: o.reloader.audit, Logger: log}
	if o.control != nil {
		aopts.Cluster = o.control.Client()
	}
	api, err := admin.New(aopts)
	if err != nil {
		return err
	}
	handler, err := o.withConsole(api, key, gw, feats, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("the admin API listens beyond loopback: keep it behind a firewall", "addr", ln.Addr().String())
	}
	o.admin = server.NewHTTPServer(handler, log)
	o.admin.RegisterOnShutdown(o.console.Close)
	log.Info("admin API listening", "addr", ln.Addr().String())
	if opts.AdminReady != nil {
		opts.AdminReady(ln.Addr().String())
	}
	o.done.Go(func() {
		if err := o.admin.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	})
	return nil
}

// withConsole mounts the operator console at /console/ beside the admin
// API.
func (o *ops) withConsole(api *admin.API, key string, gw *server.Server, feats *features, log *slog.Logger) (http.Handler, error) {
	var reloader admin.Reloader
	if o.reloader.load != nil {
		reloader = o.reloader
	}
	copts := console.Options{Key: key, Server: gw, Admin: api, Reloader: reloader,
		Audit: feats.audit, Specs: feats.specs, Calls: feats.calls, Logger: log}
	if o.control != nil {
		copts.Replicas = o.control.Replicas
	}
	con, err := console.New(copts)
	if err != nil {
		return nil, err
	}
	o.console = con
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, con)
	mux.Handle("/", api)
	return mux, nil
}

// stop ends the reload loop and the admin listener, and waits for the
// Runtimes replaced by reloads to be closed.
func (o *ops) stop() {
	o.cancel()
	if o.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = o.admin.Shutdown(ctx)
	}
	o.done.Wait()
	if o.control != nil {
		if err := o.control.Stop(); err != nil {
			o.reloader.log.Warn("cluster: leaving the services API", "err", err)
		}
	}
	o.reloader.wait()
}

// buildOptions are the Runtime dependencies telemetry, the clock (tests)
// and, in cluster mode, the shared breaker store provide.
func buildOptions(tel *telemetry.Telemetry, log *slog.Logger, shared *Shared, now func() time.Time) server.BuildOptions {
	o := server.BuildOptions{Logger: log, TracerProvider: tel.TracerProvider, Propagator: tel.Propagator, Observer: tel.Metrics, Now: now}
	if shared != nil {
		o.SharedBreakers = shared.breakers
	}
	return o
}

// auditStats reads the audit publisher's queue for the metrics.
func auditStats(p *audit.Publisher) func() telemetry.AuditStats {
	return func() telemetry.AuditStats {
		s := p.Stats()
		return telemetry.AuditStats{Queued: int64(s.Queued + s.InFlight), Spooled: int64(s.SpoolPending), Dropped: s.Dropped}
	}
}

// auditReady is the audit readiness check: NATS connected, or events
// being spooled while it is not. Events dropped since the last check while
// disconnected mean neither.
func auditReady(p *audit.Publisher) func(context.Context) error {
	var last atomic.Uint64
	return func(context.Context) error {
		s := p.Stats()
		dropped := last.Swap(s.Dropped)
		if !s.Connected && s.Dropped > dropped {
			return fmt.Errorf("NATS is unreachable and audit events are being dropped (%d so far)", s.Dropped)
		}
		return nil
	}
}

// observability returns the logger (every line of a request carries its
// trace id; the level follows telemetry.log_level unless the CLI fixed
// it) and the telemetry of plan.
func observability(ctx context.Context, plan *pipeline.Plan, opts Options) (*slog.Logger, *telemetry.Telemetry, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(telemetry.LogHandler(log.Handler()))
	setLevel(opts.LogLevel, plan)
	tel, err := telemetry.New(ctx, plan.Gateway.Telemetry, telemetry.Options{Logger: log, Version: opts.Version, TracerProvider: opts.TracerProvider, AccessLog: opts.AccessLog})
	return log, tel, err
}
