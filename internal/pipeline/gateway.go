package pipeline

import (
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

// Gateway defaults, applied in one place (applyGatewayDefaults).
const (
	DefaultListen           = ":9080"
	DefaultAdminListen      = "127.0.0.1:9180"
	DefaultMaxBody          = 1 << 20
	DefaultMaxResponse      = 100_000 // what GPT Actions accept
	DefaultMaxConcurrent    = 1024
	DefaultMaxStreams       = 512
	DefaultMaxClientStreams = 16
	DefaultUpstreamTimeout  = 3 * time.Second
	DefaultUpstreamMaxBody  = 10 << 20
	DefaultConcurrency      = 64
	DefaultBreakerFailures  = 5
	DefaultBreakerWindow    = 10 * time.Second
	DefaultBreakerCooldown  = 15 * time.Second
	DefaultCacheSize        = 256 << 20
	DefaultAuditStream      = "MANIFOLD_AUDIT"
	DefaultAuditSubject     = "manifold.audit"
	DefaultAuditDataDir     = "./data"
	DefaultAuditListen      = "127.0.0.1:4222"
	DefaultAuditMaxAge      = 7 * 24 * time.Hour
	DefaultAuditMaxBytes    = 1 << 30
	DefaultAuditDuplicates  = 2 * time.Minute
	DefaultAuditSpool       = 256 << 20
	DefaultAuditQueue       = 8192
	DefaultTelemetryService = "manifold"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (l *loader) loadGateway() *Gateway {
	if _, err := fs.Stat(l.fsys, GatewayFile); err != nil {
		l.errorf(l.display(GatewayFile), nil, "", "missing: a pipeline directory needs a %s", GatewayFile)
		return nil
	}
	d := l.parse(GatewayFile)
	if d == nil {
		return nil
	}
	gw := &Gateway{node: d.body}
	before := len(l.errs)
	gw.secrets, gw.fromEnv = l.resolveEnv(d)
	envMissing := len(l.errs) > before
	if !l.decode(d, gw) {
		return nil
	}
	// `name:` with no value decodes to nil; validated as an empty entry.
	for name, u := range gw.Upstreams {
		if u == nil {
			gw.Upstreams[name] = &Upstream{}
		}
	}
	for name, c := range gw.Consumers {
		if c == nil {
			gw.Consumers[name] = &Consumer{}
		}
	}
	// An ephemeral port (":0") says nothing of the public URL.
	ephemeral := strings.HasSuffix(l.listen, ":0")
	if l.listen != "" && !ephemeral {
		gw.Server.Listen = l.listen
	}
	applyGatewayDefaults(gw)
	if ephemeral {
		gw.Server.Listen = l.listen
	}
	resolveTLSPaths(gw, l.dir)
	// A value missing from the environment would only be reported again
	// as an invalid value.
	if !envMissing {
		l.validateGateway(d, gw)
	}
	// Returned even when broken, so that the pipelines are still checked
	// against its upstreams: Load makes no plan while any error stands.
	return gw
}

// resolveEnv replaces ${NAME} in every string of gateway.yaml with the
// environment's value; a missing variable is an error. It returns the
// values it put in, so that they can be redacted wherever config is shown,
// and the keys whose whole value was one reference.
func (l *loader) resolveEnv(d *doc) ([]string, map[string]bool) {
	var secrets []string
	fromEnv := map[string]bool{}
	walkValues(d.body, "", func(n ast.Node, key string) {
		s, ok := n.(*ast.StringNode)
		if lit, isLit := n.(*ast.LiteralNode); isLit {
			s, ok = lit.Value, true
		}
		if !ok || s == nil || !strings.Contains(s.Value, "${") {
			return
		}
		if m := envRef.FindStringIndex(s.Value); m != nil && m[0] == 0 && m[1] == len(s.Value) {
			fromEnv[key] = true
		}
		s.Value = envRef.ReplaceAllStringFunc(s.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := l.env(name)
			if !ok {
				l.errorf(d.file, n, key, "environment variable %s is not set", name)
				return ""
			}
			if v != "" {
				secrets = append(secrets, v)
			}
			return v
		})
	})
	return secrets, fromEnv
}

func applyGatewayDefaults(gw *Gateway) {
	s := &gw.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.PublicURL == "" {
		host := s.Listen
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		s.PublicURL = "http://" + host
	}
	s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
	if s.MaxBody == 0 {
		s.MaxBody = DefaultMaxBody
	}
	if s.MaxResponse == 0 {
		s.MaxResponse = DefaultMaxResponse
	}
	if s.MaxConcurrent == 0 {
		s.MaxConcurrent = DefaultMaxConcurrent
	}
	if s.MaxStreams == 0 {
		s.MaxStreams = DefaultMaxStreams
	}
	if s.MaxStreamsPerClient == 0 {
		s.MaxStreamsPerClient = min(DefaultMaxClientStreams, s.MaxStreams)
	}
	if gw.Admin.Listen == "" {
		gw.Admin.Listen = DefaultAdminListen
	}
	for _, u := range gw.Upstreams {
		applyUpstreamDefaults(u)
	}
	if gw.Cache.MaxSize == 0 {
		gw.Cache.MaxSize = DefaultCacheSize
	}
	applyAuditDefaults(&gw.Audit)
	if gw.Telemetry.ServiceName == "" {
		gw.Telemetry.ServiceName = DefaultTelemetryService
	}
	if gw.Telemetry.Prometheus == nil {
		on := true
		gw.Telemetry.Prometheus = &on
	}
	if gw.Telemetry.OTLPProtocol == "" {
		gw.Telemetry.OTLPProtocol = "http"
	}
	if gw.Defaults.Access == nil {
		// Open when nothing authenticates callers; once auth is configured
		// a pipeline without `access:` needs an authenticated caller, so
		// forgetting `defaults` never publishes it (`access: public` opens).
		gw.Defaults.Access = &Access{Public: !authConfigured(gw)}
	}
	applyGraphQLDefaults(&gw.GraphQL)
	applyMCPDefaults(&gw.MCP)
	applySecurityDefaults(gw)
}

func applyUpstreamDefaults(u *Upstream) {
	if u.Kind == "" {
		u.Kind = "http"
	}
	if u.ErrorDetail == nil {
		on := true
		u.ErrorDetail = &on
	}
	if u.Timeout == 0 {
		u.Timeout = Duration(DefaultUpstreamTimeout)
	}
	if u.Concurrency == 0 {
		u.Concurrency = DefaultConcurrency
	}
	if u.MaxResponse == 0 {
		u.MaxResponse = DefaultUpstreamMaxBody
	}
	b := &u.Breaker
	if b.Failures == 0 {
		b.Failures = DefaultBreakerFailures
	}
	if b.Window == 0 {
		b.Window = Duration(DefaultBreakerWindow)
	}
	if b.Cooldown == 0 {
		b.Cooldown = Duration(DefaultBreakerCooldown)
	}
	if u.Format == "" {
		u.Format = "json"
	}
	if a := u.Auth; a != nil && a.Type == "api_key" && a.In == "" {
		a.In = "header"
	}
}

func (l *loader) validateGateway(d *doc, gw *Gateway) {
	// at locates keys: its value, or the nearest parent key present.
	at := func(keys ...string) ast.Node {
		v, _ := lookup(d.body, keys...)
		for v == nil && len(keys) > 1 {
			keys = keys[:len(keys)-1]
			_, v = lookup(d.body, keys...)
		}
		return v
	}
	if gw.Server.TLS != nil && (gw.Server.TLS.Cert == "" || gw.Server.TLS.Key == "") {
		l.errorf(d.file, at("server", "tls"), "server.tls", "needs both cert and key")
	}
	if u, err := url.Parse(gw.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.errorf(d.file, at("server", "public_url"), "server.public_url", "%q is not an absolute http(s) URL", gw.Server.PublicURL)
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
	l.validateAudit(d, &gw.Audit)
	l.validateTelemetry(d, gw.Telemetry)
	for name, c := range gw.Consumers {
		if len(c.KeySHA256) != 64 || strings.Trim(strings.ToLower(c.KeySHA256), "0123456789abcdef") != "" {
			l.errorf(d.file, at("consumers", name, "key_sha256"), "consumers."+name+".key_sha256", "want 64 hex digits (the SHA-256 of the key)")
		}
	}
	l.validateSecurity(d, gw, at)
	l.validateGraphQL(d, gw.GraphQL, at)
	l.validateMCP(d, gw.MCP, at)
	l.validatePlugin(d, gw.Plugin, at)
}

func (l *loader) validateUpstream(d *doc, name string, u *Upstream) {
	key := "upstreams." + name
	at := func(k string) ast.Node {
		v, _ := lookup(d.body, "upstreams", name, k)
		if v == nil {
			_, v = lookup(d.body, "upstreams", name)
		}
		return v
	}
	if !identifier.MatchString(name) {
		_, k := lookup(d.body, "upstreams", name)
		l.errorf(d.file, k, key, "upstream names must match %s", identifier)
	}
	if parsed, err := url.Parse(u.URL); u.URL == "" || err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		l.errorf(d.file, at("url"), key+".url", "want an absolute http(s) URL")
	} else if parsed.RawQuery != "" || parsed.Fragment != "" {
		l.errorf(d.file, at("url"), key+".url", "must not have a query or fragment")
	}
	if u.Kind != "http" && u.Kind != "graphql" {
		l.errorf(d.file, at("kind"), key+".kind", "%q: want http or graphql", u.Kind)
	}
	if u.Retries < 0 || u.Retries > 5 {
		l.errorf(d.file, at("retries"), key+".retries", "want 0 to 5, got %d", u.Retries)
	}
	if u.Concurrency < 0 {
		l.errorf(d.file, at("concurrency"), key+".concurrency", "must not be negative")
	}
	if u.Breaker.Failures < 0 {
		l.errorf(d.file, at("breaker"), key+".breaker.failures", "must not be negative")
	}
	for h, v := range u.Headers {
		if strings.ContainsAny(h+v, "\r\n") {
			l.errorf(d.file, at("headers"), key+".headers."+h, "header names and values must not contain CR or LF")
		}
	}
}

func (l *loader) validateTelemetry(d *doc, t Telemetry) {
	at := func(k string) ast.Node {
		v, _ := lookup(d.body, "telemetry", k)
		if v == nil {
			_, v = lookup(d.body, "telemetry")
		}
		return v
	}
	if t.OTLPProtocol != "http" && t.OTLPProtocol != "grpc" {
		l.errorf(d.file, at("otlp_protocol"), "telemetry.otlp_protocol", "%q: want http or grpc", t.OTLPProtocol)
	}
	if e := t.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); strings.Contains(e, "://") && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			l.errorf(d.file, at("otlp_endpoint"), "telemetry.otlp_endpoint", "want an http(s) URL or host:port")
		}
	}
	switch t.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		l.errorf(d.file, at("log_level"), "telemetry.log_level", "%q: want debug, info, warn or error", t.LogLevel)
	}
}

func applyAuditDefaults(a *AuditConfig) {
	if a.NATS == "" {
		a.NATS = "embedded"
	}
	if a.Stream == "" {
		a.Stream = DefaultAuditStream
	}
	if a.Subject == "" {
		a.Subject = DefaultAuditSubject
	}
	if a.DataDir == "" {
		a.DataDir = DefaultAuditDataDir
	}
	if a.Listen == "" {
		a.Listen = DefaultAuditListen
	}
	if a.MaxAge == 0 {
		a.MaxAge = Duration(DefaultAuditMaxAge)
	}
	if a.MaxBytes == 0 {
		a.MaxBytes = DefaultAuditMaxBytes
	}
	if a.Replicas == 0 {
		a.Replicas = 1
	}
	if a.Duplicates == 0 {
		a.Duplicates = Duration(DefaultAuditDuplicates)
	}
	if a.SpoolMaxBytes == 0 {
		a.SpoolMaxBytes = DefaultAuditSpool
	}
	if a.QueueSize == 0 {
		a.QueueSize = DefaultAuditQueue
	}
}

var (
	natsSubject = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	natsStream  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (l *loader) validateAudit(d *doc, a *AuditConfig) {
	at := func(k string) ast.Node {
		v, _ := lookup(d.body, "audit", k)
		if v == nil {
			_, v = lookup(d.body, "audit")
		}
		return v
	}
	bad := func(k, format string, args ...any) { l.errorf(d.file, at(k), "audit."+k, format, args...) }
	embedded := a.NATS == "embedded"
	if n := a.NATS; !embedded && n != "off" && !strings.HasPrefix(n, "nats://") && !strings.HasPrefix(n, "tls://") {
		bad("nats", "%q: want embedded, off or a nats:// URL", n)
	}
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
	if a.InProcess && !embedded {
		bad("in_process", "applies to nats: embedded only")
	}
	if a.Replicas < 1 || a.Replicas > 5 {
		bad("replicas", "want 1 to 5, got %d", a.Replicas)
	}
	if a.QueueSize < 0 {
		bad("queue_size", "must not be negative")
	}
	if a.TLS != nil && (a.TLS.Cert == "") != (a.TLS.Key == "") {
		bad("tls", "needs both cert and key, or neither")
	}
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// upstream returns the upstream called name, or nil (also when gw is nil:
// a broken gateway.yaml, whose pipelines are still checked).
func (gw *Gateway) upstream(name string) *Upstream {
	if gw == nil {
		return nil
	}
	return gw.Upstreams[name]
}

// Secrets returns the values gateway.yaml took from the environment.
func (gw *Gateway) Secrets() []string { return gw.secrets }

// Limits of the plugin manifest (/.well-known/ai-plugin.json), which
// ChatGPT enforces.
const (
	MaxNameForModel        = 50
	MaxNameForHuman        = 20
	MaxDescriptionForModel = 8000
	MaxDescriptionForHuman = 100
)

var nameForModel = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (l *loader) validatePlugin(d *doc, pl Plugin, at func(keys ...string) ast.Node) {
	tooLong := func(key, v string, limit int) {
		if n := utf8.RuneCountInString(strings.TrimSpace(v)); n > limit {
			l.errorf(d.file, at("plugin", key), "plugin."+key, "%d characters is too long: the plugin manifest allows at most %d", n, limit)
		}
	}
	tooLong("name_for_model", pl.NameForModel, MaxNameForModel)
	tooLong("name_for_human", pl.NameForHuman, MaxNameForHuman)
	tooLong("description_for_model", pl.DescriptionForModel, MaxDescriptionForModel)
	tooLong("description_for_human", pl.DescriptionForHuman, MaxDescriptionForHuman)
	if pl.NameForModel != "" && !nameForModel.MatchString(pl.NameForModel) {
		l.errorf(d.file, at("plugin", "name_for_model"), "plugin.name_for_model", "%q may hold only letters, digits and _", pl.NameForModel)
	}
	if e := pl.ContactEmail; e != "" && (strings.Count(e, "@") != 1 || strings.HasPrefix(e, "@") || strings.HasSuffix(e, "@") || strings.ContainsAny(e, " <>")) {
		l.errorf(d.file, at("plugin", "contact_email"), "plugin.contact_email", "%q is not an email address", e)
	}
	for key, v := range map[string]string{"legal_info_url": pl.LegalInfoURL, "logo_url": pl.LogoURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			l.errorf(d.file, at("plugin", key), "plugin."+key, "%q is not an absolute http(s) URL", v)
		}
	}
}

// authConfigured reports whether gateway.yaml authenticates callers.
func authConfigured(gw *Gateway) bool {
	a := gw.Auth
	return a.APIKey != nil || a.JWT != nil || a.Introspection != nil || len(gw.Consumers) > 0
}
