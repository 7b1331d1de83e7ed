package connectors

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/internal/cache"
)

// keyer says which calls may be cached or coalesced, and under which key.
type keyer struct {
	cache *cache.Cache // nil: keys are still built, for coalescing
	name  string       // the upstream: the key's namespace
	kind  string
}

// key identifies a call by everything that can change its answer: method,
// path, query, the step's headers (sorted) and body. The upstream's
// configured headers are the same for every call, so they are left out.
func (k keyer) key(req *Request) string {
	return k.cache.Key(k.name,
		[]byte(req.Method), []byte(req.Path), []byte(req.Query.Encode()),
		headerBytes(req.Header), req.Body)
}

// headerBytes encodes h with its names sorted, so equal headers give equal
// bytes whatever the map order, and every string length-prefixed, so no
// value can pass for a name or another value.
func headerBytes(h http.Header) []byte {
	if len(h) == 0 {
		return nil
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	var b []byte
	for _, name := range names {
		b = appendString(b, http.CanonicalHeaderKey(name))
		b = binary.AppendUvarint(b, uint64(len(h[name])))
		for _, v := range h[name] {
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// cacheable reports whether a call's answer may be stored: a safe HTTP
// read, or a GraphQL query (not a mutation or subscription).
func (k keyer) cacheable(req *Request) bool {
	if req.Stream {
		return false
	}
	if k.kind == KindGraphQL {
		return isGraphQLQuery(req.Body)
	}
	return req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == ""
}

// coalescable reports whether identical concurrent calls may share one
// upstream call: idempotent HTTP requests and GraphQL queries.
func (k keyer) coalescable(req *Request) bool {
	if req.Stream {
		return false
	}
	if k.kind == KindGraphQL {
		return isGraphQLQuery(req.Body)
	}
	return req.Method == "" || req.Idempotent()
}

// isGraphQLQuery reports whether a GraphQL request envelope holds only
// queries. When in doubt it says no: a mutation made once for two callers,
// or answered from the cache, would be a lost write.
func isGraphQLQuery(envelope []byte) bool {
	var req struct{ Query string }
	if json.Unmarshal(envelope, &req) != nil || req.Query == "" {
		return false
	}
	for _, word := range topLevelWords(req.Query) {
		if word == "mutation" || word == "subscription" {
			return false
		}
	}
	return true
}

// topLevelWords returns the names outside any selection set of a GraphQL
// document, where operation types appear, skipping strings and comments.
func topLevelWords(doc string) []string {
	var words []string
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case c == '#':
			for i < len(doc) && doc[i] != '\n' {
				i++
			}
		case c == '"':
			i = skipString(doc, i)
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && isNameStart(c) && (i == 0 || !isNameByte(doc[i-1])):
			j := i
			for j < len(doc) && isNameByte(doc[j]) {
				j++
			}
			words = append(words, doc[i:j])
			i = j - 1
		}
	}
	return words
}

// skipString returns the index of the quote closing the string or block
// string that starts at doc[i].
func skipString(doc string, i int) int {
	if len(doc) >= i+3 && doc[i:i+3] == `"""` {
		for j := i + 3; j+3 <= len(doc); j++ {
			if doc[j:j+3] == `"""` && doc[j-1] != '\\' {
				return j + 2
			}
		}
		return len(doc)
	}
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(doc)
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isNameByte(c byte) bool { return isNameStart(c) || ('0' <= c && c <= '9') || c == '$' }
