package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Backend names, as used in Options.Addrs.
const (
	nameProducts    = "products"
	nameMarkets     = "markets"
	nameDeals       = "deals"
	nameTranslation = "translation"
)

// defaultAddr is where a backend listens unless Options.Addrs says otherwise:
// loopback, on a port the kernel picks.
const defaultAddr = "127.0.0.1:0"

// Backends are the four running demo backends.
type Backends struct {
	// Base URLs without a trailing slash, e.g. "http://127.0.0.1:41234".
	Products, Markets, Deals, Translation string

	servers []*http.Server
	served  []chan error // one per server: what Serve returned

	shutdownOnce sync.Once
	shutdownErr  error
}

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Addrs optionally fixes the listen address of a backend by name:
	// "products", "markets", "deals" or "translation". A backend not named
	// listens on "127.0.0.1:0" (a free loopback port).
	Addrs map[string]string
	// Latency is added to every answer, to make fan-out and timeouts
	// visible. A request whose context ends while it waits is answered 503.
	Latency time.Duration
	// After is the clock of Latency: it returns a channel that delivers
	// once the latency has passed (tests); nil: a timer.
	After func(time.Duration) <-chan time.Time
}

// Start starts the four demo backends, each on its own http.Server, and
// returns once all of them accept connections. On error nothing is left
// running.
func Start(opts Options) (*Backends, error) {
	b := &Backends{}
	backends := []struct {
		name    string
		handler http.Handler
		url     *string
	}{
		{nameProducts, productsMux(), &b.Products},
		{nameMarkets, marketsMux(), &b.Markets},
		{nameDeals, dealsMux(time.Now), &b.Deals},
		{nameTranslation, translationMux(), &b.Translation},
	}
	for name := range opts.Addrs {
		switch name {
		case nameProducts, nameMarkets, nameDeals, nameTranslation:
		default:
			return nil, fmt.Errorf("demo: unknown backend %q in Addrs (want products, markets, deals or translation)", name)
		}
	}
	if opts.Latency < 0 {
		return nil, fmt.Errorf("demo: negative latency %v", opts.Latency)
	}

	listeners := make([]net.Listener, 0, len(backends))
	for _, be := range backends {
		addr := opts.Addrs[be.name]
		if addr == "" {
			addr = defaultAddr
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, fmt.Errorf("demo: %s backend: %w", be.name, err)
		}
		listeners = append(listeners, ln)
		*be.url = baseURL(ln.Addr())
	}

	for i, be := range backends {
		srv := &http.Server{
			Handler:           wrapAfter(be.handler, opts.Latency, opts.After),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      15*time.Second + opts.Latency,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		served := make(chan error, 1)
		b.servers = append(b.servers, srv)
		b.served = append(b.served, served)
		go func(ln net.Listener) {
			err := srv.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			served <- err
		}(listeners[i])
	}
	return b, nil
}

// baseURL is the http URL of a listener. A wildcard address (":7101",
// "0.0.0.0:7101") is reached through loopback.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Env returns the backends' base URLs under the environment variable names
// that the demo gateway.yaml refers to.
func (b *Backends) Env() map[string]string {
	return map[string]string{
		"MANIFOLD_DEMO_PRODUCTS_URL":    b.Products,
		"MANIFOLD_DEMO_MARKETS_URL":     b.Markets,
		"MANIFOLD_DEMO_DEALS_URL":       b.Deals,
		"MANIFOLD_DEMO_TRANSLATION_URL": b.Translation,
	}
}

// Shutdown stops all four backends gracefully: they stop accepting
// connections and in-flight requests finish. If ctx ends first, the
// remaining connections are closed and ctx's error is returned. Calling
// Shutdown again returns the first call's result.
func (b *Backends) Shutdown(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.shutdownOnce.Do(func() {
		errs := make([]error, len(b.servers))
		var wg sync.WaitGroup
		for i, srv := range b.servers {
			wg.Go(func() {
				if err := srv.Shutdown(ctx); err != nil {
					_ = srv.Close()
					errs[i] = err
				}
			})
		}
		wg.Wait()
		for _, served := range b.served {
			errs = append(errs, <-served)
		}
		b.shutdownErr = errors.Join(errs...)
		if b.shutdownErr != nil {
			b.shutdownErr = fmt.Errorf("demo: shutdown: %w", b.shutdownErr)
		}
	})
	return b.shutdownErr
}
