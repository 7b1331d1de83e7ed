package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

func serveCmd(logs *logSetup) *cobra.Command {
	var dir, listen, adminListen string
	var drain, delay time.Duration
	cmd := &cobra.Command{
		Use:   "serve --dir DIR",
		Short: "Serve a pipeline directory (gateway.yaml and pipeline files)",
		Long: `Serve a pipeline directory (gateway.yaml and pipeline files).

The directory is reloaded when its files change, on SIGHUP and from the
admin API; a reload that fails keeps the running plan. SIGTERM or SIGINT
stop accepting requests, let those in flight finish (up to --drain-timeout),
flush audit events and exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log, level := logs.logger("json")
			// --listen also decides a public_url gateway.yaml leaves out.
			lo := pipeline.LoadOptions{Listen: listen}
			plan, err := pipeline.LoadDir(dir, lo)
			if err != nil {
				return err
			}
			return launch.Serve(ctx, plan, launch.Options{
				LoadOptions: lo, Listen: listen, Logger: log, LogLevel: level, Dir: dir, Reload: hangups(ctx),
				AdminListen: adminListen, DrainTimeout: drain, ShutdownDelay: delay, Version: version,
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "pipelines", "pipeline directory")
	cmd.Flags().StringVar(&listen, "listen", "", "listen address (default: server.listen of gateway.yaml)")
	cmd.Flags().StringVar(&adminListen, "admin-listen", "", "admin API listen address (default: admin.listen of gateway.yaml)")
	cmd.Flags().DurationVar(&drain, "drain-timeout", launch.DrainTimeout, "how long shutdown waits for requests in flight")
	cmd.Flags().DurationVar(&delay, "shutdown-delay", 0, "keep serving this long after SIGTERM while /readyz reports draining (e.g. 5s behind a load balancer)")
	return cmd
}

// hangups turns SIGHUP into reload triggers until ctx ends.
func hangups(ctx context.Context) <-chan struct{} {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default: // a reload is already pending
				}
			}
		}
	}()
	return out
}

func demoCmd(logs *logSetup) *cobra.Command {
	var listen, dir, adminListen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo: four backends on loopback and the gateway serving the demo pipelines",
		Long: `Run the demo: four backends on loopback and the gateway serving the demo pipelines.

With --dir the pipelines come from that directory (a copy of pipelines/) and
reload when it changes. With MANIFOLD_ADMIN_KEY set, the admin API listens on
--admin-listen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log, level := logs.logger("text")
			out := cmd.OutOrStdout()
			opts := launch.Options{
				Listen: listen, Logger: log, LogLevel: level, Dir: dir, Version: version,
				AdminListen: adminListen, AdminKey: os.Getenv("MANIFOLD_ADMIN_KEY"),
				AdminReady: func(addr string) {
					fmt.Fprintf(out, "Admin API at http://%s (send MANIFOLD_ADMIN_KEY in X-API-Key)\n", addr)
					fmt.Fprintf(out, "Operator console at http://%s/console/ (sign in with MANIFOLD_ADMIN_KEY)\n", addr)
				},
			}
			if dir != "" {
				opts.Reload = hangups(ctx)
			}
			return launch.Demo(ctx, opts, out)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":9080", "gateway listen address")
	cmd.Flags().StringVar(&dir, "dir", "", "serve the pipelines of this directory instead of the embedded ones, and reload them when they change")
	cmd.Flags().StringVar(&adminListen, "admin-listen", gateway.DefaultAdminListen, "admin API listen address (needs MANIFOLD_ADMIN_KEY)")
	return cmd
}
