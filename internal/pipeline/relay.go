package pipeline

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// hopByHop are the headers that describe one connection, not the request
// or the answer (RFC 9110, section 7.6.1, and the ones proxies still
// meet): they are never relayed nor forwarded.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// bodyHeaders describe the bytes of a body. A proxy relays them always
// (without them the body cannot be read); any other pipeline answers its
// own JSON, which they would misdescribe.
var bodyHeaders = []string{"Content-Type", "Content-Encoding"}

// validateRelay checks proxy: true and every step's relay_headers.
func (c pctx) validateRelay(p *Pipeline, gw *gateway.Config) {
	if p.Proxy {
		c.validateProxy(p, gw)
	}
	relayedBy := map[string]string{} // header: the step that relays it
	for _, name := range p.StepOrder {
		s := p.Steps[name]
		if s == nil || s.RelayHeaders == nil {
			continue
		}
		key := []string{"steps", name, "relay_headers"}
		if s.Foreach != nil {
			c.keyErrorf(key, "a foreach step makes many calls: relay headers from a step that makes one")
		}
		for i, h := range s.RelayHeaders {
			at, k := c.elem(key, i), fmt.Sprintf("steps.%s.relay_headers[%d]", name, i)
			canon := http.CanonicalHeaderKey(h)
			if reason := relayProblem(h, canon, p.Proxy); reason != "" {
				c.errorAt(at, k, "%s", reason)
				continue
			}
			if other, dup := relayedBy[canon]; dup {
				c.errorAt(at, k, "%s is already relayed by step %s", h, other)
				continue
			}
			relayedBy[canon] = name
		}
	}
}

// relayProblem says why a header (as written, and canonical) cannot be
// relayed, or "".
func relayProblem(h, canon string, proxy bool) string {
	switch {
	case !httpguts.ValidHeaderFieldName(h):
		return fmt.Sprintf("%q is not a header name", h)
	case hopByHop[canon]:
		return h + " is a hop-by-hop header: it describes one connection and is never relayed"
	case canon == "Content-Length":
		return "Content-Length is set by the gateway, from the body it sends"
	case strings.HasPrefix(canon, "Manifold-"):
		return h + " is one of the gateway's own headers"
	case !proxy && (canon == "Content-Type" || canon == "Content-Encoding"):
		return h + " describes the upstream's body, but this pipeline answers its own JSON (only proxy: true relays the body)"
	}
	return ""
}

// validateProxy checks that a proxy pipeline is one step whose answer can
// be relayed as it is: nothing may decode, reshape, merge or store it.
func (c pctx) validateProxy(p *Pipeline, gw *gateway.Config) {
	if len(p.Steps) > 1 {
		c.keyErrorf([]string{"steps"}, "proxy: true relays the answer of one step, got %d steps", len(p.Steps))
	}
	refuse := func(keys []string, set bool, why string) {
		if set {
			c.keyErrorf(keys, "cannot be used with proxy: true: %s", why)
		}
	}
	const asIs = "the upstream's body is relayed as it is, never decoded"
	refuse([]string{"output"}, p.Output != nil, asIs)
	refuse([]string{"merge"}, p.Merge != "", asIs)
	refuse([]string{"truncate"}, p.Truncate != nil, asIs)
	refuse([]string{"cache"}, p.Cache > 0, "a relayed answer is streamed, not stored; cache in front of the gateway, which the relayed Cache-Control and ETag let you do")
	for _, name := range p.StepOrder {
		s := p.Steps[name]
		if s == nil {
			continue
		}
		key := func(k string) []string { return []string{"steps", name, k} }
		refuse(key("select"), s.Select != nil, asIs)
		refuse(key("foreach"), s.Foreach != nil, "a pass-through makes exactly one call")
		refuse(key("when"), s.When != nil, "a pass-through always makes its call")
		refuse(key("optional"), s.Optional, "the answer is the step's, whatever it is")
		refuse(key("cache"), s.Cache > 0, "a relayed answer is streamed, not stored")
		if u := gw.Upstream(s.Upstream); u != nil && u.Kind == "graphql" {
			c.errorf(key("upstream"), "proxy: true relays an http upstream's answer; %s is a graphql upstream", s.Upstream)
		}
	}
}

// relayed picks from h the headers names lists (canonical), leaving out
// any that h's Connection header declares hop-by-hop. nil when none.
func relayed(h http.Header, names []string) http.Header {
	var out http.Header
	for _, name := range names {
		vs := h[name]
		if len(vs) == 0 || connectionListed(h, name) {
			continue
		}
		if out == nil {
			out = make(http.Header, len(names))
		}
		out[name] = append([]string(nil), vs...)
	}
	return out
}

// connectionListed reports whether h's Connection header names name
// (RFC 9110, section 7.6.1): the sender made it hop-by-hop.
func connectionListed(h http.Header, name string) bool {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(f)) == name {
				return true
			}
		}
	}
	return false
}

// relayNames is what a step relays, canonical: its relay_headers, and for
// a proxy the headers that describe the body.
func relayNames(s *Step, proxy bool) []string {
	var out []string
	if proxy {
		out = append(out, bodyHeaders...)
	}
	for _, h := range s.RelayHeaders {
		canon := http.CanonicalHeaderKey(h)
		if proxy && (canon == "Content-Type" || canon == "Content-Encoding") {
			continue // already there
		}
		out = append(out, canon)
	}
	return out
}
