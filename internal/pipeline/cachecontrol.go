package pipeline

import (
	"net/http"
	"regexp"
	"strings"
)

// cacheDirective is one Cache-Control response directive (RFC 9111,
// section 5.2): a token, optionally =token or ="quoted string".
var cacheDirective = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+(=([A-Za-z0-9!#$%&'*+.^_|~-]+|"[^"\\]*"))?$`)

// validateCacheControl checks cache_control: the Cache-Control header a
// pipeline's complete answers carry (KrakenD's cache_ttl, Kong's and
// APISIX's proxy-cache headers), so that browsers and CDNs may reuse them.
func (c pctx) validateCacheControl(p *Pipeline) {
	if p.CacheControl == "" {
		return
	}
	key := []string{"cache_control"}
	for d := range strings.SplitSeq(p.CacheControl, ",") {
		if d = strings.TrimSpace(d); !cacheDirective.MatchString(d) {
			c.errorf(key, "%q is not a Cache-Control directive (such as public, max-age=3600 or no-store)", d)
			return
		}
	}
	switch {
	case p.Proxy:
		c.keyErrorf(key, "a proxy pipeline answers with its upstream's headers: relay its Cache-Control with relay_headers instead")
	case p.Method != http.MethodGet:
		c.keyErrorf(key, "only GET answers are cacheable; %s answers are never reused", p.Method)
	}
	for _, name := range p.StepOrder {
		if s := p.Steps[name]; s != nil && relays(s, "Cache-Control") {
			c.keyErrorf(key, "step %s relays the upstream's Cache-Control: set one or the other", name)
		}
	}
}

// relays reports whether s relays the header named canon.
func relays(s *Step, canon string) bool {
	for _, h := range s.RelayHeaders {
		if http.CanonicalHeaderKey(h) == canon {
			return true
		}
	}
	return false
}
