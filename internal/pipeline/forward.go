package pipeline

import (
	"net/http"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"golang.org/x/net/http/httpguts"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// HeaderList is forward_headers: which of the caller's headers a step
// sends on to its upstream. Entries are header names (Accept-Language),
// prefixes (X-Tenant-*), "*" for every header, and exclusions of either
// ("!X-Debug", "!X-Internal-*") that narrow the wildcards.
type HeaderList struct {
	Entries []string
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (h *HeaderList) UnmarshalYAML(n ast.Node) error {
	n = yamlconf.Unwrap(n)
	if _, null := n.(*ast.NullNode); null {
		*h = HeaderList{Entries: []string{}}
		return nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return yamlconf.ErrAt(n, `want a list of header names, such as [Accept-Language, "X-Tenant-*"] or ["*", "!X-Debug"], got %s`, yamlconf.Describe(n))
	}
	out := HeaderList{Entries: make([]string, 0, len(seq.Values))}
	seen := map[string]bool{}
	wild := false
	var deny ast.Node
	for _, v := range seq.Values {
		s, ok := yamlconf.Unwrap(v).(*ast.StringNode)
		if !ok {
			return yamlconf.ErrAt(v, "want a header name, got %s", yamlconf.Describe(v))
		}
		if err := checkHeaderEntry(s.Value); err != "" {
			return yamlconf.ErrAt(v, "%s", err)
		}
		key := strings.ToLower(s.Value)
		if seen[key] {
			return yamlconf.ErrAt(v, "%q is listed twice", s.Value)
		}
		seen[key] = true
		switch {
		case strings.HasPrefix(s.Value, "!"):
			deny = v
		case strings.HasSuffix(s.Value, "*"):
			wild = true
		}
		out.Entries = append(out.Entries, s.Value)
	}
	if deny != nil && !wild {
		return yamlconf.ErrAt(deny, `an exclusion narrows a wildcard: add "*" or a prefix such as "X-Tenant-*"`)
	}
	*h = out
	return nil
}

// checkHeaderEntry returns what is wrong with one forward_headers entry,
// or "".
func checkHeaderEntry(e string) string {
	name := strings.TrimPrefix(e, "!")
	prefix, wild := strings.CutSuffix(name, "*")
	switch {
	case strings.Contains(prefix, "*"):
		return yamlconf.QuoteShort(e) + `: * may only end a prefix, as in "X-Tenant-*"`
	case name == "*" && e != name:
		return `"!*" excludes everything: write forward_headers: [] to forward nothing`
	case wild && prefix != "" && !httpguts.ValidHeaderFieldName(prefix):
		return yamlconf.QuoteShort(e) + " is not a header name or a prefix followed by *"
	case !wild && !httpguts.ValidHeaderFieldName(name):
		return yamlconf.QuoteShort(e) + " is not a valid header name"
	case !wild && e == name && unforwardable(name) != "":
		return yamlconf.QuoteShort(e) + " " + unforwardable(name)
	}
	return ""
}

// unforwardable says why a header cannot be forwarded even by name, or "".
func unforwardable(name string) string {
	c := http.CanonicalHeaderKey(name)
	switch {
	case hopByHop[c] || strings.HasPrefix(c, "Proxy-"):
		return "is hop-by-hop: it describes the caller's connection, not the request"
	case c == "Host" || c == "Content-Length" || c == "Accept-Encoding":
		return "is set by the gateway for each upstream connection"
	case c == "X-Forwarded-For" || c == "X-Forwarded-Host" || c == "X-Forwarded-Proto" || c == "Forwarded":
		return "is set by the gateway from server.trusted_proxies (see the upstream's forwarded)"
	}
	return ""
}

// guarded are the headers a wildcard never forwards, only their explicit
// name: credentials, the gateway's own headers, and those the gateway
// sets for the upstream call (content negotiation, conditionals, traces).
var guarded = map[string]bool{
	"Authorization": true, "Cookie": true, "Host": true, gateway.DefaultAPIKeyHeader: true,
	"Accept": true, "Accept-Encoding": true, "Content-Type": true, "Content-Length": true,
	"Expect": true, "Range": true, "If-Range": true, "If-Match": true, "If-None-Match": true,
	"If-Modified-Since": true, "If-Unmodified-Since": true,
	"Traceparent": true, "Tracestate": true, "Baggage": true,
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true, "Forwarded": true,
}

// forwardRule is a compiled HeaderList.
type forwardRule struct {
	all                bool
	exact, deny        map[string]bool // canonical names
	prefixes, denyPref []string        // canonical prefixes
	apiKey             string          // the configured API key header, canonical
}

func compileForward(list *HeaderList, apiKeyHeader string) *forwardRule {
	if list == nil || len(list.Entries) == 0 {
		return nil
	}
	f := &forwardRule{exact: map[string]bool{}, deny: map[string]bool{}, apiKey: http.CanonicalHeaderKey(apiKeyHeader)}
	for _, e := range list.Entries {
		name, negated := strings.CutPrefix(e, "!")
		prefix, wild := strings.CutSuffix(name, "*")
		prefix = strings.ToLower(prefix)
		switch {
		case name == "*":
			f.all = true
		case negated && wild:
			f.denyPref = append(f.denyPref, prefix)
		case negated:
			f.deny[http.CanonicalHeaderKey(name)] = true
		case wild:
			f.prefixes = append(f.prefixes, prefix)
		default:
			f.exact[http.CanonicalHeaderKey(name)] = true
		}
	}
	return f
}

// pick returns the caller's headers the rule forwards, or nil.
func (f *forwardRule) pick(in http.Header) http.Header {
	if f == nil || len(in) == 0 {
		return nil
	}
	named := connectionTokens(in)
	var out http.Header
	for k, vs := range in {
		c := http.CanonicalHeaderKey(k)
		if !f.exact[c] && !f.wildcard(c, named) {
			continue
		}
		if out == nil {
			out = http.Header{}
		}
		out[c] = slices.Clone(vs)
	}
	return out
}

// wildcard reports whether "*" or a prefix forwards c.
func (f *forwardRule) wildcard(c string, named map[string]bool) bool {
	lower := strings.ToLower(c)
	switch {
	case !f.all && !hasPrefix(lower, f.prefixes):
		return false
	case f.deny[c] || hasPrefix(lower, f.denyPref):
		return false
	case guarded[c] || hopByHop[c] || named[c] || c == f.apiKey:
		return false
	}
	return !strings.HasPrefix(c, "Proxy-") && !strings.HasPrefix(c, "Manifold-")
}

func hasPrefix(lower string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// connectionTokens are the headers the caller's Connection header names
// as hop-by-hop (RFC 9110, section 7.6.1).
func connectionTokens(h http.Header) map[string]bool {
	var out map[string]bool
	for _, v := range h.Values("Connection") {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				if out == nil {
					out = map[string]bool{}
				}
				out[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return out
}

// ForwardedHeaders returns the caller's headers some step of the
// pipeline forwards: what, besides the params, can change its answer (the
// response cache keys on them).
func (c *Compiled) ForwardedHeaders(in http.Header) http.Header {
	var out http.Header
	for _, st := range c.steps {
		for k, vs := range st.forward.pick(in) {
			if out == nil {
				out = http.Header{}
			}
			out[k] = vs
		}
	}
	return out
}

// forwarding compiles what a step forwards: its own forward_headers, or
// else the pipeline's; and whether its upstream gets X-Forwarded-*.
func forwarding(p *Pipeline, s *Step, gw *gateway.Config, u *gateway.Upstream) (*forwardRule, bool) {
	list := p.ForwardHeaders
	if s.ForwardHeaders != nil {
		list = s.ForwardHeaders
	}
	apiKey := gateway.DefaultAPIKeyHeader
	if gw != nil && gw.Auth.APIKey != nil && gw.Auth.APIKey.Header != "" {
		apiKey = gw.Auth.APIKey.Header
	}
	return compileForward(list, apiKey), u == nil || u.Forwarded == nil || *u.Forwarded
}

// ForwardsBearer reports whether c is public and one of its steps
// forwards the caller's Authorization header by name: the caller's
// token is then the upstream's credential, not the gateway's.
func (c *Compiled) ForwardsBearer() bool {
	if c.Access == nil || !c.Access.Public || len(c.Access.Roles) > 0 {
		return false
	}
	for _, st := range c.steps {
		if st.forward != nil && st.forward.exact["Authorization"] {
			return true
		}
	}
	return false
}
