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

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
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
}

// Serve runs the gateway for plan until ctx ends, then drains: the
// listener closes at once and requests in flight finish.
func Serve(ctx context.Context, plan *pipeline.Plan, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	listen := opts.Listen
	if listen == "" {
		listen = plan.Gateway.Server.Listen
	}
	rt, err := server.Build(plan, log)
	if err != nil {
		return err
	}
	defer rt.Close()
	feats, err := assemble(plan, log)
	if err != nil {
		return err
	}
	defer feats.close()
	srv := server.NewHTTPServer(server.New(rt, feats.opts), log)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "pipelines", len(plan.Pipelines))
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "deadline", DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
	plan, err := LoadDemo(backends)
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
	fmt.Fprintf(out, "Backends: products %s, markets %s, deals %s, translation %s\nCtrl-C stops.\n",
		b.Products, b.Markets, b.Deals, b.Translation)
}

// LoadDemo loads the embedded demo directory with the backends' URLs.
func LoadDemo(b *demo.Backends) (*pipeline.Plan, error) {
	env := b.Env()
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	return pipeline.Load(pipelines.FS, "pipelines", pipeline.LoadOptions{LookupEnv: lookup})
}

// BaseURL turns a listener address into a URL a user can paste.
func BaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
