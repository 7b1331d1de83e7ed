package audit

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/natsconn"
)

// connectTimeout bounds the stream set-up at start.
const connectTimeout = natsconn.ConnectTimeout

// open returns the connection to publish on: cfg.Conn, shared with the
// rest of the gateway, or one of its own opened from cfg. wake is
// signalled whenever the connection comes (back) up, and whenever
// JetStream elects a new leader for the stream: a publisher waiting out a
// retry after losing the leader resumes at once, not at its next backoff.
// done releases what open took (the own connection, the subscription).
func open(cfg Config, log *slog.Logger, wake func()) (conn *natsconn.Conn, done func(), err error) {
	owned := cfg.Conn == nil
	if owned {
		conn, err = natsconn.Open(natsconn.Options{
			URL: cfg.NATS, Name: "manifold-audit",
			Listen: cfg.Listen, InProcess: cfg.InProcess, StoreDir: filepath.Join(cfg.DataDir, "nats"), DefaultListen: cfg.DefaultListen,
			Credentials: cfg.Credentials, NKey: cfg.NKey, Token: cfg.Token,
			TLSCA: cfg.TLSCA, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey,
			OnConnect: wake,
		}, log)
		if err != nil {
			return nil, nil, err
		}
	} else {
		conn = cfg.Conn
		conn.OnConnect(wake)
	}
	sub, err := conn.NC.Subscribe(leaderElected+cfg.Stream, func(*nats.Msg) { wake() })
	if err != nil {
		log.Warn("audit: not watching the stream's leader elections", "err", err)
	}
	return conn, func() {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		if owned {
			conn.Close()
		}
	}, nil
}

// leaderElected prefixes the JetStream advisory of a stream's new leader.
const leaderElected = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."

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
