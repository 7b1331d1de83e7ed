// Command manifold is the Manifold gateway: it serves declarative YAML
// pipelines as REST endpoints, and validates and runs them from the shell.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "manifold:", err)
		}
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	var logFormat, logLevel string
	root := &cobra.Command{
		Use:           "manifold",
		Short:         "A gateway for composite plugin APIs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	logger := func() *slog.Logger { return newLogger(logFormat, logLevel) }
	root.AddCommand(
		serveCmd(logger),
		demoCmd(logger),
		validateCmd(),
		runCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "manifold", version) },
		},
	)
	return root
}

func newLogger(format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
