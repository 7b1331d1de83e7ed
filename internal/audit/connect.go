package audit

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/redact"
)

// connectTimeout bounds one connection attempt to an external server.
const connectTimeout = 5 * time.Second

// connect opens the publisher's connection: in-process to the embedded
// server ns, or to cfg.NATS with reconnects forever. The gateway starts
// even while an external NATS is down; events are spooled meanwhile.
// wake is signalled whenever the connection comes (back) up.
func connect(cfg Config, ns *server.Server, log *slog.Logger, wake func()) (*nats.Conn, error) {
	where := redact.URLs(cfg.NATS)
	opts := []nats.Option{
		nats.Name("manifold-audit"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(connectTimeout),
		// Publishing while disconnected fails at once rather than filling
		// a buffer: the publisher spools instead.
		nats.ReconnectBufSize(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := 100 * time.Millisecond << min(attempts, 5)
			return min(d, 2*time.Second) + rand.N(100*time.Millisecond)
		}),
		nats.ConnectHandler(func(*nats.Conn) {
			log.Info("audit: connected to NATS", "servers", where)
			wake()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("audit: reconnected to NATS; delivering spooled events", "server", redact.URLs(nc.ConnectedUrlRedacted()))
			wake()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("audit: disconnected from NATS; events are spooled until it is back", "servers", where, "err", redact.Error(err))
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("audit: NATS error", "err", redact.Error(err))
		}),
	}
	if ns != nil {
		opts = append(opts, nats.InProcessServer(ns))
		return nats.Connect("", opts...)
	}
	auth, err := authOptions(cfg)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.NATS, append(opts, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("audit: NATS %s: %w", where, redact.Error(err))
	}
	if !nc.IsConnected() {
		log.Warn("audit: NATS is not reachable yet; events are spooled until it is", "servers", where)
	}
	return nc, nil
}

// authOptions turns the credentials, NKEY seed, token and TLS files of
// cfg into connection options.
func authOptions(cfg Config) ([]nats.Option, error) {
	var opts []nats.Option
	if cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	}
	if cfg.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKey)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey: %w", ErrConfig, err)
		}
		opts = append(opts, o)
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

// streamConfig is the MANIFOLD_AUDIT stream: every subject under
// cfg.Subject, kept for MaxAge and MaxBytes, oldest discarded first.
func streamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Manifold audit events (CloudEvents 1.0 JSON)",
		Subjects:    []string{cfg.Subject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    orUnlimited(cfg.MaxBytes),
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.Duplicates,
	}
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// ensureStream creates the stream or brings an existing one to cfg; it is
// idempotent, so every gateway replica calls it at start.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if _, err := js.CreateOrUpdateStream(ctx, streamConfig(cfg)); err != nil {
		return fmt.Errorf("audit: stream %s: %w", cfg.Stream, err)
	}
	return nil
}
