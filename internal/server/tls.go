package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// certCheckEvery bounds how often the certificate files are looked at.
const certCheckEvery = time.Second

// TLSConfig returns the listener's TLS configuration: TLS 1.2 at least,
// Go's default (modern, AEAD-only for 1.2) cipher suites, HTTP/2, and the
// certificate read from certFile and keyFile. When either file changes
// (a renewal, a rotated Kubernetes secret) the next handshake loads the
// new pair; a pair that fails to load is logged and the old one kept.
func TLSConfig(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	c := &certReloader{cert: certFile, key: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}

// certReloader serves a certificate and reloads it when its files change.
type certReloader struct {
	cert, key string
	log       *slog.Logger

	mu        sync.Mutex
	current   *tls.Certificate
	stamp     string // the files' sizes and modification times
	lastCheck time.Time
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.lastCheck) >= certCheckEvery {
		c.lastCheck = time.Now()
		if s, err := c.stat(); err == nil && s != c.stamp {
			if err := c.loadLocked(); err != nil {
				c.log.Error("reloading the TLS certificate failed; serving the previous one", "cert", c.cert, "err", err)
			} else {
				c.log.Info("TLS certificate reloaded", "cert", c.cert)
			}
		}
	}
	return c.current, nil
}

func (c *certReloader) load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastCheck = time.Now()
	return c.loadLocked()
}

func (c *certReloader) loadLocked() error {
	stamp, err := c.stat()
	if err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("server.tls: %w", err)
	}
	c.current, c.stamp = &pair, stamp
	return nil
}

func (c *certReloader) stat() (string, error) {
	var stamp string
	for _, f := range []string{c.cert, c.key} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("server.tls: %w", err)
		}
		stamp += fmt.Sprintf("%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

// UpstreamTLS returns the client TLS configuration of an upstream: its
// private CA (which then replaces the system roots for that upstream), a
// client certificate for mutual TLS, and the server name to verify. A nil
// t gives nil: Go's defaults.
func UpstreamTLS(t *gateway.UpstreamTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls.ca: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
