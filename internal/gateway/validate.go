package gateway

import (
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func (l *loader) validate(d *yamlconf.Doc, gw *Config) {
	// at locates keys: its value, or the nearest parent key present.
	at := func(keys ...string) ast.Node {
		v, _ := yamlconf.Lookup(d.Body, keys...)
		for v == nil && len(keys) > 1 {
			keys = keys[:len(keys)-1]
			_, v = yamlconf.Lookup(d.Body, keys...)
		}
		return v
	}
	if gw.Server.TLS != nil && (gw.Server.TLS.Cert == "" || gw.Server.TLS.Key == "") {
		l.Errorf(d.File, at("server", "tls"), "server.tls", "needs both cert and key")
	}
	if u, err := url.Parse(gw.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.Errorf(d.File, at("server", "public_url"), "server.public_url", "%q is not an absolute http(s) URL", gw.Server.PublicURL)
	}
	names := make([]string, 0, len(gw.Upstreams))
	for name := range gw.Upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l.validateUpstream(d, name, gw.Upstreams[name])
		l.validateUpstreamExtras(d, name, gw.Upstreams[name], gw.fromEnv)
	}
	l.validateNATS(d, gw)
	l.validateAudit(d, &gw.Audit)
	l.validateTelemetry(d, gw.Telemetry)
	for name, c := range gw.Consumers {
		if len(c.KeySHA256) != 64 || strings.Trim(strings.ToLower(c.KeySHA256), "0123456789abcdef") != "" {
			l.Errorf(d.File, at("consumers", name, "key_sha256"), "consumers."+name+".key_sha256", "want 64 hex digits (the SHA-256 of the key)")
		}
	}
	l.validateSecurity(d, gw, at)
	l.validateGraphQL(d, gw.GraphQL, at)
	l.validateMCP(d, gw.MCP, at)
	l.validatePlugin(d, gw.Plugin, at)
	l.loadAssets(d, gw, at)
}

func (l *loader) validateUpstream(d *yamlconf.Doc, name string, u *Upstream) {
	key := "upstreams." + name
	at := func(k string) ast.Node {
		v, _ := yamlconf.Lookup(d.Body, "upstreams", name, k)
		if v == nil {
			_, v = yamlconf.Lookup(d.Body, "upstreams", name)
		}
		return v
	}
	if !yamlconf.Identifier.MatchString(name) {
		_, k := yamlconf.Lookup(d.Body, "upstreams", name)
		l.Errorf(d.File, k, key, "upstream names must match %s", yamlconf.Identifier)
	}
	if parsed, err := url.Parse(u.URL); u.URL == "" || err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		l.Errorf(d.File, at("url"), key+".url", "want an absolute http(s) URL")
	} else if parsed.RawQuery != "" || parsed.Fragment != "" {
		l.Errorf(d.File, at("url"), key+".url", "must not have a query or fragment")
	}
	if u.Kind != "http" && u.Kind != "graphql" {
		l.Errorf(d.File, at("kind"), key+".kind", "%q: want http or graphql", u.Kind)
	}
	if u.Retries < 0 || u.Retries > 5 {
		l.Errorf(d.File, at("retries"), key+".retries", "want 0 to 5, got %d", u.Retries)
	}
	if u.Concurrency < 0 {
		l.Errorf(d.File, at("concurrency"), key+".concurrency", "must not be negative")
	}
	if u.Breaker.Failures < 0 {
		l.Errorf(d.File, at("breaker"), key+".breaker.failures", "must not be negative")
	}
	for h, v := range u.Headers {
		if strings.ContainsAny(h+v, "\r\n") {
			l.Errorf(d.File, at("headers"), key+".headers."+h, "header names and values must not contain CR or LF")
		}
	}
}

func (l *loader) validateTelemetry(d *yamlconf.Doc, t Telemetry) {
	at := func(k string) ast.Node {
		v, _ := yamlconf.Lookup(d.Body, "telemetry", k)
		if v == nil {
			_, v = yamlconf.Lookup(d.Body, "telemetry")
		}
		return v
	}
	if t.OTLPProtocol != "http" && t.OTLPProtocol != "grpc" {
		l.Errorf(d.File, at("otlp_protocol"), "telemetry.otlp_protocol", "%q: want http or grpc", t.OTLPProtocol)
	}
	if e := t.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); strings.Contains(e, "://") && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			l.Errorf(d.File, at("otlp_endpoint"), "telemetry.otlp_endpoint", "want an http(s) URL or host:port")
		}
	}
	switch t.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		l.Errorf(d.File, at("log_level"), "telemetry.log_level", "%q: want debug, info, warn or error", t.LogLevel)
	}
}

var (
	natsSubject = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	natsStream  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (l *loader) validateAudit(d *yamlconf.Doc, a *Audit) {
	at := func(k string) ast.Node {
		v, _ := yamlconf.Lookup(d.Body, "audit", k)
		if v == nil {
			_, v = yamlconf.Lookup(d.Body, "audit")
		}
		return v
	}
	bad := func(k, format string, args ...any) { l.Errorf(d.File, at(k), "audit."+k, format, args...) }
	if !natsStream.MatchString(a.Stream) {
		bad("stream", "%q: want letters, digits, _ and -", a.Stream)
	}
	if !natsSubject.MatchString(a.Subject) {
		bad("subject", "%q: want dot-separated tokens of letters, digits, _ and - (no wildcards)", a.Subject)
	}
	if host, port, err := net.SplitHostPort(a.Listen); err != nil || (port != "-1" && !isPort(port)) {
		bad("listen", "%q: want host:port", a.Listen)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		bad("listen", "%q: the embedded NATS server has no authentication, so it listens on loopback only; use an external NATS for other hosts", a.Listen)
	}
	if a.Replicas < 1 || a.Replicas > 5 {
		bad("replicas", "want 1 to 5, got %d", a.Replicas)
	}
	if a.QueueSize < 0 {
		bad("queue_size", "must not be negative")
	}
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// Limits of the plugin manifest (/.well-known/ai-plugin.json), which
// ChatGPT enforces.
const (
	MaxNameForModel        = 50
	MaxNameForHuman        = 20
	MaxDescriptionForModel = 8000
	MaxDescriptionForHuman = 100
)

var nameForModel = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (l *loader) validatePlugin(d *yamlconf.Doc, pl Plugin, at func(keys ...string) ast.Node) {
	tooLong := func(key, v string, limit int) {
		if n := utf8.RuneCountInString(strings.TrimSpace(v)); n > limit {
			l.Errorf(d.File, at("plugin", key), "plugin."+key, "%d characters is too long: the plugin manifest allows at most %d", n, limit)
		}
	}
	tooLong("name_for_model", pl.NameForModel, MaxNameForModel)
	tooLong("name_for_human", pl.NameForHuman, MaxNameForHuman)
	tooLong("description_for_model", pl.DescriptionForModel, MaxDescriptionForModel)
	tooLong("description_for_human", pl.DescriptionForHuman, MaxDescriptionForHuman)
	if pl.NameForModel != "" && !nameForModel.MatchString(pl.NameForModel) {
		l.Errorf(d.File, at("plugin", "name_for_model"), "plugin.name_for_model", "%q may hold only letters, digits and _", pl.NameForModel)
	}
	if e := pl.ContactEmail; e != "" && (strings.Count(e, "@") != 1 || strings.HasPrefix(e, "@") || strings.HasSuffix(e, "@") || strings.ContainsAny(e, " <>")) {
		l.Errorf(d.File, at("plugin", "contact_email"), "plugin.contact_email", "%q is not an email address", e)
	}
	for key, v := range map[string]string{"legal_info_url": pl.LegalInfoURL, "logo_url": pl.LogoURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			l.Errorf(d.File, at("plugin", key), "plugin."+key, "%q is not an absolute http(s) URL", v)
		}
	}
}
