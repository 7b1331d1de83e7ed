package gateway

import (
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// NATS and cluster defaults.
const (
	DefaultNATSURL = "embedded"
	// NATSOff turns the connection off (nats.url), or audit alone
	// (audit.nats beside `nats:`).
	NATSOff            = "off"
	DefaultClusterName = "manifold"
	// DefaultStaleAfter is how long a replica may serve an older revision
	// than another replica of its cluster before /readyz says not ready.
	DefaultStaleAfter = 30 * time.Second
)

// NATS is the gateway's one NATS connection, shared by audit and cluster
// mode (see internal/natsconn): an embedded server (the default, for one
// process), off, or external servers.
type NATS struct {
	URL string `yaml:"url"` // "embedded", "off" or nats:// URLs (comma-separated)
	// Listen is the embedded server's loopback address for NATS clients
	// (port 0: any free port); InProcess serves no TCP at all.
	Listen    string `yaml:"listen"`
	InProcess bool   `yaml:"in_process"`
	// External NATS authentication, usually from ${ENV}: a .creds file, an
	// NKEY seed file, a token, and TLS files.
	Credentials string    `yaml:"credentials"`
	NKey        string    `yaml:"nkey"`
	Token       string    `yaml:"token"`
	TLS         *AuditTLS `yaml:"tls"`
}

// Cluster turns on cluster mode: the replica joins the named cluster on
// the NATS of `nats:` (see docs/cluster.md).
type Cluster struct {
	Name string `yaml:"name"` // default DefaultClusterName
	// StaleAfter is how long this replica may serve an older revision
	// than another replica of the cluster before /readyz reports not
	// ready (nil: DefaultStaleAfter; 0s: never).
	StaleAfter *yamlconf.Duration `yaml:"stale_after"`
}

// Stale returns cluster.stale_after with its default.
func (c *Cluster) Stale() time.Duration {
	if c == nil || c.StaleAfter == nil {
		return DefaultStaleAfter
	}
	return c.StaleAfter.D()
}

// natsAliases are the audit keys that configured the connection before
// `nats:` existed, and the nats key each became. They still work when
// `nats:` is absent.
var natsAliases = []struct{ audit, nats string }{
	{"nats", "url"}, {"listen", "listen"}, {"in_process", "in_process"},
	{"credentials", "credentials"}, {"nkey", "nkey"}, {"token", "token"}, {"tls", "tls"},
}

// mergeNATS takes the connection from the audit keys when `nats:` is
// absent (a gateway.yaml written before it), refuses both at once, and
// turns a `cluster:` written without a value into cluster mode with the
// defaults.
func (l *loader) mergeNATS(d *yamlconf.Doc, gw *Config) {
	if _, k := yamlconf.Lookup(d.Body, "cluster"); k != nil && gw.Cluster == nil {
		gw.Cluster = &Cluster{}
	}
	_, natsKey := yamlconf.Lookup(d.Body, "nats")
	for _, a := range natsAliases {
		_, k := yamlconf.Lookup(d.Body, "audit", a.audit)
		if a.audit == "nats" && gw.Audit.NATS == NATSOff {
			continue // audit off, whatever the connection: see applyNATSDefaults
		}
		if k != nil && natsKey != nil {
			l.Errorf(d.File, k, "audit."+a.audit, "moved to nats.%s, which this file sets: keep only nats.%s", a.nats, a.nats)
		}
	}
	if natsKey != nil {
		return
	}
	a := gw.Audit
	gw.NATS = NATS{URL: a.NATS, Listen: a.Listen, InProcess: a.InProcess,
		Credentials: a.Credentials, NKey: a.NKey, Token: a.Token, TLS: a.TLS}
}

// applyNATSDefaults fills `nats:` and mirrors the connection into the
// audit keys, so that code reading either sees the connection in use.
func applyNATSDefaults(gw *Config) {
	n := &gw.NATS
	if n.URL == "" {
		n.URL = DefaultNATSURL
	}
	if n.Listen == "" {
		n.Listen = DefaultAuditListen
	}
	if c := gw.Cluster; c != nil && c.Name == "" {
		c.Name = DefaultClusterName
	}
	a := &gw.Audit
	// `audit: {nats: off}` beside `nats:` turns audit off and keeps the
	// connection for cluster mode.
	if a.NATS != NATSOff {
		a.NATS = n.URL
	}
	a.Listen, a.InProcess = n.Listen, n.InProcess
	a.Credentials, a.NKey, a.Token, a.TLS = n.Credentials, n.NKey, n.Token, n.TLS
}

// ClusterName is a cluster's name: it names JetStream buckets, so it is
// letters, digits, _ and -.
var ClusterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (l *loader) validateNATS(d *yamlconf.Doc, gw *Config) {
	// at locates nats.k, else the audit key it moved from (and names
	// that key, where the user wrote it), else the section.
	at := func(k string) (ast.Node, string) {
		if v, _ := yamlconf.Lookup(d.Body, "nats", k); v != nil {
			return v, "nats." + k
		}
		for _, a := range natsAliases {
			if v, _ := yamlconf.Lookup(d.Body, "audit", a.audit); a.nats == k && v != nil {
				return v, "audit." + a.audit
			}
		}
		_, v := yamlconf.Lookup(d.Body, "nats")
		return v, "nats." + k
	}
	n := gw.NATS
	bad := func(k, format string, args ...any) {
		v, key := at(k)
		l.Errorf(d.File, v, key, format, args...)
	}
	embedded := n.URL == "embedded"
	if !embedded && n.URL != "off" && !validNATSURLs(n.URL) {
		bad("url", "%q: want embedded, off or a nats:// URL", n.URL)
	}
	if host, port, err := net.SplitHostPort(n.Listen); err != nil || (port != "-1" && !isPort(port)) {
		bad("listen", "%q: want host:port", n.Listen)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		bad("listen", "%q: the embedded NATS server has no authentication, so it listens on loopback only; use an external NATS for other hosts", n.Listen)
	}
	if n.InProcess && !embedded {
		bad("in_process", "applies to url: embedded only")
	}
	if n.TLS != nil && (n.TLS.Cert == "") != (n.TLS.Key == "") {
		bad("tls", "needs both cert and key, or neither")
	}
	if c := gw.Cluster; c != nil && !ClusterName.MatchString(c.Name) {
		v, _ := yamlconf.Lookup(d.Body, "cluster", "name")
		l.Errorf(d.File, v, "cluster.name", "%q: want 1 to 64 letters, digits, _ and - (it names JetStream buckets)", c.Name)
	}
}

func validNATSURLs(s string) bool {
	for u := range strings.SplitSeq(s, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return false
		}
	}
	return true
}
