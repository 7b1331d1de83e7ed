package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

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
			return launch.Serve(ctx, plan, launch.Options{Listen: listen, Logger: logger()})
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
			return launch.Demo(ctx, launch.Options{Listen: listen, Logger: logger()}, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":9080", "gateway listen address")
	return cmd
}
