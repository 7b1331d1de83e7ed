// Package natsconn opens the gateway's one NATS connection: to an embedded
// nats-server with JetStream (the default, for one process) or to
// external servers, with credentials, an NKEY seed, a token and TLS. Audit
// and cluster mode share it; each feature registers to hear when the
// connection comes (back) up.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/redact"
)

// Modes of Options.URL besides a URL list.
const (
	Embedded = "embedded"
	Off      = "off"
)

// ConnectTimeout bounds one connection attempt to an external server.
const ConnectTimeout = 5 * time.Second

// ErrConfig is wrapped by every configuration error of Open.
var ErrConfig = errors.New("nats: invalid configuration")

// Options configure Open.
type Options struct {
	URL  string // Embedded or nats:// URLs, comma-separated
	Name string // the client name servers show (default "manifold")

	// Embedded server: its loopback host:port (port 0 or -1: any free
	// port), no TCP listener at all with InProcess, its JetStream store.
	Listen        string
	InProcess     bool
	StoreDir      string
	DefaultListen bool // Listen is the default and may fall back to a free port

	// External NATS authentication and TLS: file paths, a token.
	Credentials, NKey, Token string
	TLSCA, TLSCert, TLSKey   string

	// OnConnect, if set, is registered before connecting (see
	// Conn.OnConnect), so that it hears the first connection too.
	OnConnect func()
}

// Conn is the gateway's connection, and the embedded server behind it if
// any. Close it once, when every user is done.
type Conn struct {
	NC *nats.Conn
	ns *server.Server
	// inProcess: the embedded server has no listener.
	inProcess bool

	mu        sync.Mutex
	listeners []func()
}

// Open starts the embedded server when opts.URL is Embedded, and
// connects. An external NATS that is merely unreachable is not an error:
// the connection retries forever, and users hear of it through
// OnConnect.
func Open(opts Options, log *slog.Logger) (*Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" {
		opts.Name = "manifold"
	}
	c := &Conn{inProcess: opts.InProcess}
	if opts.OnConnect != nil {
		c.listeners = append(c.listeners, opts.OnConnect)
	}
	switch opts.URL {
	case Off, "":
		return nil, fmt.Errorf("%w: nats is off", ErrConfig)
	case Embedded:
		ns, err := startEmbedded(opts, log)
		if err != nil {
			return nil, err
		}
		c.ns = ns
	}
	nc, err := c.connect(opts, log)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.NC = nc
	return c, nil
}

// OnConnect registers fn, called each time the connection comes up or
// back (from the connection's callback goroutine: fn must not block).
func (c *Conn) OnConnect(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, fn)
}

func (c *Conn) fire() {
	c.mu.Lock()
	fns := append([]func(){}, c.listeners...)
	c.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Embedded reports whether the connection goes to the embedded server.
func (c *Conn) Embedded() bool { return c.ns != nil }

// URL returns the embedded server's client URL, or "" when there is no
// listener (external NATS, in-process only).
func (c *Conn) URL() string {
	if c.ns == nil || c.inProcess {
		return ""
	}
	return c.ns.ClientURL()
}

// Close drains nothing: it closes the connection and stops the embedded
// server. Users flush their own work first.
func (c *Conn) Close() {
	if c.NC != nil {
		c.NC.Close()
	}
	if c.ns != nil {
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
	}
}

// connect opens the connection: in-process to the embedded server, or to
// opts.URL with reconnects forever. Publishing while disconnected fails
// at once rather than filling a buffer: audit spools instead.
func (c *Conn) connect(opts Options, log *slog.Logger) (*nats.Conn, error) {
	where := redact.URLs(opts.URL)
	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(ConnectTimeout),
		nats.ReconnectBufSize(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := 100 * time.Millisecond << min(attempts, 5)
			return min(d, 2*time.Second) + rand.N(100*time.Millisecond)
		}),
		nats.ConnectHandler(func(*nats.Conn) {
			log.Info("nats: connected", "servers", where)
			c.fire()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats: reconnected", "server", redact.URLs(nc.ConnectedUrlRedacted()))
			c.fire()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected; audit events are spooled until it is back", "servers", where, "err", redact.Error(err))
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats: error", "err", redact.Error(err))
		}),
	}
	if c.ns != nil {
		return nats.Connect("", append(nopts, nats.InProcessServer(c.ns))...)
	}
	auth, err := authOptions(opts)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(opts.URL, append(nopts, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("NATS %s: %w", where, redact.Error(err))
	}
	if !nc.IsConnected() {
		log.Warn("nats: not reachable yet; retrying (audit events are spooled meanwhile)", "servers", where)
	}
	return nc, nil
}

// authOptions turns the credentials, NKEY seed, token and TLS files of
// opts into connection options.
func authOptions(opts Options) ([]nats.Option, error) {
	var out []nats.Option
	if opts.Credentials != "" {
		out = append(out, nats.UserCredentials(opts.Credentials))
	}
	if opts.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(opts.NKey)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey: %w", ErrConfig, err)
		}
		out = append(out, o)
	}
	if opts.Token != "" {
		out = append(out, nats.Token(opts.Token))
	}
	if opts.TLSCA != "" {
		out = append(out, nats.RootCAs(opts.TLSCA))
	}
	if opts.TLSCert != "" {
		out = append(out, nats.ClientCert(opts.TLSCert, opts.TLSKey))
	}
	return out, nil
}

// Server is the embedded server (nil for an external NATS): tests
// connect to it in-process.
func (c *Conn) Server() *server.Server { return c.ns }
