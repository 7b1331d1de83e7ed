package auth

import (
	"strings"
)

// MaxRoles bounds the roles taken from one token.
const MaxRoles = 256

// RolesFromClaims returns the roles in claims at path: the claim of that
// exact name if there is one (namespaced claims such as
// "https://example.com/roles" hold dots), otherwise a dotted path into
// nested objects ("realm_access.roles", "resource_access.gw.roles"). The
// value may be an array of strings or one space-separated string (an
// OAuth "scope"). Anything else yields no roles.
func RolesFromClaims(claims map[string]any, path string) []string {
	return rolesAt(func(name string) (any, bool) {
		v, ok := claims[name]
		return v, ok
	}, path)
}

// rolesAt is RolesFromClaims over a claim getter, so that a token's claims
// need not be copied into a map.
func rolesAt(get func(name string) (any, bool), path string) []string {
	if path == "" {
		return nil
	}
	if v, ok := get(path); ok {
		return roleList(v)
	}
	first, rest, nested := strings.Cut(path, ".")
	if !nested {
		return nil
	}
	v, ok := get(first)
	if !ok {
		return nil
	}
	for seg := range strings.SplitSeq(rest, ".") {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil
		}
		if v, ok = m[seg]; !ok {
			return nil
		}
	}
	return roleList(v)
}

// roleList turns a claim value into roles: the strings of an array, or the
// space-separated words of a string; duplicates and empties dropped.
func roleList(v any) []string {
	var words []string
	switch t := v.(type) {
	case string:
		words = strings.Fields(t)
	case []string:
		words = t
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				words = append(words, s)
			}
		}
	default:
		return nil
	}
	out := make([]string, 0, min(len(words), MaxRoles))
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" || seen[w] {
			continue
		}
		if len(out) == MaxRoles {
			break
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}
