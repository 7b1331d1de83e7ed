package audit

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/natsconn"
	"github.com/manifoldgw/manifold/internal/redact"
)

// Modes of Config.NATS besides a URL list.
const (
	Embedded = natsconn.Embedded
	Off      = natsconn.Off
)

// Tuning defaults that gateway.yaml does not expose.
const (
	DefaultAckTimeout   = 5 * time.Second
	DefaultWindow       = 1024
	DefaultLinger       = 10 * time.Millisecond
	DefaultCloseTimeout = 10 * time.Second
	maxBackoff          = 5 * time.Second
)

// ErrConfig is wrapped by every configuration error of Start.
var ErrConfig = errors.New("audit: invalid configuration")

// Config configures Start. Zero values of the tuning fields mean their
// defaults; FromGateway fills the rest from gateway.yaml.
type Config struct {
	NATS    string // Embedded, Off or nats:// URLs, comma-separated
	Stream  string
	Subject string // events go to Subject.call.<pipeline>, admin actions to Subject.admin
	DataDir string // the embedded JetStream store (DataDir/nats) and the spool (DataDir/spool)

	Listen    string // embedded: loopback host:port (port 0 or -1: any free port)
	InProcess bool   // embedded: no TCP listener at all

	MaxAge        time.Duration
	MaxBytes      int64
	Replicas      int
	Duplicates    time.Duration
	SpoolMaxBytes int64
	QueueSize     int

	// External NATS authentication and TLS (file paths, a token).
	Credentials, NKey, Token string
	TLSCA, TLSCert, TLSKey   string

	// Source is the CloudEvents source: the gateway's public URL.
	Source string

	// AckTimeout bounds the wait for one acknowledgement; Window is the
	// number of events in flight at most.
	AckTimeout time.Duration
	Window     int
	// Linger is how long the publisher lets events gather before it sends
	// them, when few are queued: one batch costs the server and the
	// client far less CPU than the same events one by one (-1: none).
	Linger time.Duration
	// DefaultListen reports that Listen is the default address, which may
	// fall back to a free port when taken (by another gateway, a test).
	DefaultListen bool

	// Conn, if set, is the gateway's shared NATS connection (internal/
	// natsconn): audit publishes on it and leaves it open at Close; NATS,
	// Listen, InProcess and the authentication fields are then unused
	// but for NATS == Embedded. Without it, Start opens its own.
	Conn *natsconn.Conn
	// Replica and Plan stamp every event with the replica that produced
	// it and the plan it served (CloudEvents extension attributes; see
	// Stamp). Both optional.
	Replica string
	Plan    func() PlanStamp
}

// From returns the configuration of gateway.yaml's audit section a, for
// the gateway at publicURL (the events' source). A relative data_dir is
// taken relative to dir, the pipeline directory, so that a directory
// keeps its audit state beside it wherever the gateway is started from.
func From(a gateway.Audit, publicURL, dir string) Config {
	c := Config{
		NATS: a.NATS, Stream: a.Stream, Subject: a.Subject, DataDir: a.DataDir,
		Listen: a.Listen, InProcess: a.InProcess,
		MaxAge: a.MaxAge.D(), MaxBytes: int64(a.MaxBytes), Replicas: a.Replicas, Duplicates: a.Duplicates.D(),
		SpoolMaxBytes: int64(a.SpoolMaxBytes), QueueSize: a.QueueSize,
		Credentials: a.Credentials, NKey: a.NKey, Token: a.Token,
		Source:        redact.URLs(publicURL),
		DefaultListen: a.Listen == gateway.DefaultAuditListen,
	}
	if a.TLS != nil {
		c.TLSCA, c.TLSCert, c.TLSKey = a.TLS.CA, a.TLS.Cert, a.TLS.Key
	}
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) && dir != "" {
		c.DataDir = filepath.Join(dir, c.DataDir)
	}
	return c
}

// withDefaults fills the zero values and checks what Start relies on.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.QueueSize, gateway.DefaultAuditQueue)
	def(&c.Window, DefaultWindow)
	def(&c.Replicas, 1)
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.Duplicates <= 0 {
		c.Duplicates = gateway.DefaultAuditDuplicates
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		c.Duplicates = c.MaxAge // JetStream requires it
	}
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = gateway.DefaultAuditSpool
	}
	if c.Stream == "" {
		c.Stream = gateway.DefaultAuditStream
	}
	if c.Subject == "" {
		c.Subject = gateway.DefaultAuditSubject
	}
	if c.Source == "" {
		c.Source = "manifold"
	}
	if c.Listen == "" {
		c.Listen, c.DefaultListen = gateway.DefaultAuditListen, true
	}
	switch {
	case c.NATS == "":
		c.NATS = Embedded
	case c.NATS == Off:
		return c, fmt.Errorf("%w: nats is off", ErrConfig)
	}
	if c.DataDir == "" {
		return c, fmt.Errorf("%w: data_dir is empty", ErrConfig)
	}
	return c, nil
}
