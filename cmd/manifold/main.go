// Command manifold is the Manifold gateway: it serves declarative YAML
// pipelines as REST endpoints, and validates and runs them from the shell.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
	root.PersistentFlags().StringVar(&logFormat, "log-format", "", "log format: json or text (default json for serve, text for the rest)")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (default: telemetry.log_level of gateway.yaml, else info)")
	logger := &logSetup{format: &logFormat, level: &logLevel, flags: root.PersistentFlags()}
	root.AddCommand(
		serveCmd(logger),
		demoCmd(logger),
		validateCmd(),
		runCmd(),
		testCmd(),
		initCmd(),
		schemaCmd(),
		openapiCmd(),
		importCmd(),
		keysCmd(),
		auditCmd(),
		clusterCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "manifold", version) },
		},
	)
	return root
}

// logSetup is the root command's --log-format and --log-level.
type logSetup struct {
	format, level *string
	flags         *pflag.FlagSet
}

// logger returns a logger on stderr in the chosen format (defaultFormat
// when --log-format is not given) and its level. The level is returned
// only when --log-level was not given, so that gateway.yaml's
// telemetry.log_level may set it.
func (l *logSetup) logger(defaultFormat string) (*slog.Logger, *slog.LevelVar) {
	format := *l.format
	if format == "" {
		format = defaultFormat
	}
	lv := new(slog.LevelVar)
	var level slog.Level
	if err := level.UnmarshalText([]byte(*l.level)); err != nil {
		level = slog.LevelInfo
	}
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	log := slog.New(slog.NewTextHandler(os.Stderr, opts))
	if format == "json" {
		log = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	if l.flags.Changed("log-level") {
		return log, nil
	}
	return log, lv
}
