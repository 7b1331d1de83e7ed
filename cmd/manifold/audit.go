package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/gateway"
)

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit events the gateway publishes to NATS JetStream",
	}
	cmd.AddCommand(auditTailCmd(), &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of audit events (CloudEvents 1.0, version 1)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(audit.Schema())
			return err
		},
	})
	return cmd
}

func auditTailCmd() *cobra.Command {
	var (
		client audit.ClientOptions
		opts   audit.TailOptions
	)
	cmd := &cobra.Command{
		Use:   "tail [--pipeline NAME] [--since 10m] [-f] [--json]",
		Short: "Print audit events from the stream, oldest first",
		Long: `Print audit events from the MANIFOLD_AUDIT stream: the ones stored since
--since, and with -f new ones as they arrive, until Ctrl-C.

The default server is the embedded NATS of a gateway on this machine
(nats://127.0.0.1:4222, or $NATS_URL). For a cluster, pass --server and the
credentials (--creds, --nkey, --token; --tls-*), or set NATS_URL and
NATS_CREDS.`,
		Example: `  manifold audit tail --since 1h
  manifold audit tail --pipeline cityDeals -f
  manifold audit tail --json | jq .data.status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			nc, err := audit.Dial(client)
			if err != nil {
				return err
			}
			defer nc.Close()
			return audit.Tail(ctx, nc, opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&client.Servers, "server", envOr("NATS_URL", "nats://"+gateway.DefaultAuditListen), "NATS server URLs, comma-separated")
	f.StringVar(&client.Credentials, "creds", os.Getenv("NATS_CREDS"), "NATS credentials file")
	f.StringVar(&client.NKey, "nkey", "", "NKEY seed file")
	f.StringVar(&client.Token, "token", "", "NATS token")
	f.StringVar(&client.TLSCA, "tls-ca", "", "CA certificate file for TLS")
	f.StringVar(&client.TLSCert, "tls-cert", "", "client certificate file for TLS")
	f.StringVar(&client.TLSKey, "tls-key", "", "client key file for TLS")
	f.StringVar(&opts.Stream, "stream", gateway.DefaultAuditStream, "JetStream stream")
	f.StringVar(&opts.Subject, "subject", gateway.DefaultAuditSubject, "subject prefix (audit.subject of gateway.yaml)")
	f.StringVar(&opts.Pipeline, "pipeline", "", "only the calls of this pipeline")
	f.DurationVar(&opts.Since, "since", 10*time.Minute, "only events stored within this duration (0: all)")
	f.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new events until interrupted")
	f.BoolVar(&opts.JSON, "json", false, "print each event as stored: one CloudEvents JSON document per line")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
