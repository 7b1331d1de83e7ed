package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/pipelines"
)

// drainTimeout bounds how long shutdown waits for requests in flight.
const drainTimeout = 30 * time.Second

func serveCmd(logger func() *slog.Logger) *cobra.Command {
	var dir, listen string
	cmd := &cobra.Command{
		Use:   "serve --dir DIR",
		Short: "Serve a pipeline directory (gateway.yaml and pipeline files)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
			if err != nil {
				return err
			}
			return serve(ctx, plan, listen, logger(), nil)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "pipelines", "pipeline directory")
	cmd.Flags().StringVar(&listen, "listen", "", "listen address (default: server.listen of gateway.yaml)")
	return cmd
}

func demoCmd(logger func() *slog.Logger) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo: four backends on loopback and the gateway serving the demo pipelines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, listen, logger(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":9080", "gateway listen address")
	return cmd
}

// runDemo starts the demo backends, loads the embedded demo pipelines
// against them and serves until ctx ends.
func runDemo(ctx context.Context, listen string, log *slog.Logger, out interface{ Write([]byte) (int, error) }) error {
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		return fmt.Errorf("demo backends: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		_ = backends.Shutdown(sctx)
	}()
	plan, err := loadDemo(backends)
	if err != nil {
		return err
	}
	return serve(ctx, plan, listen, log, func(addr string) {
		fmt.Fprintf(out, "Manifold demo is up at %s. Try:\n", baseURL(addr))
		for _, path := range []string{
			"/v1/cities/Berlin/deals?lang=de",
			"/v1/products?q=milk&lang=fr",
			"/v1/markets/nearest?lat=52.52&lon=13.405&radius_km=3",
			"/v1/cities/Atlantis/deals",
		} {
			fmt.Fprintf(out, "  curl '%s%s'\n", baseURL(addr), path)
		}
		fmt.Fprintf(out, "Backends: products %s, markets %s, deals %s, translation %s\nCtrl-C stops.\n",
			backends.Products, backends.Markets, backends.Deals, backends.Translation)
	})
}

// loadDemo loads the embedded demo directory with the backends' URLs.
func loadDemo(b *demo.Backends) (*pipeline.Plan, error) {
	env := b.Env()
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	return pipeline.Load(pipelines.FS, "pipelines", pipeline.LoadOptions{LookupEnv: lookup})
}

func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// serve runs the gateway for plan until ctx ends, then drains: the
// listener closes at once and requests in flight finish.
func serve(ctx context.Context, plan *pipeline.Plan, listen string, log *slog.Logger, ready func(addr string)) error {
	if listen == "" {
		listen = plan.Gateway.Server.Listen
	}
	rt, err := server.Build(plan, log)
	if err != nil {
		return err
	}
	defer rt.Close()
	srv := server.NewHTTPServer(server.New(rt, log), log)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "pipelines", len(plan.Pipelines))
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "deadline", drainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
