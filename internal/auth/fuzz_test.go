package auth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FuzzExtract: any header values give a credential or ErrMalformed, never
// a panic; a credential never holds control characters or spaces.
func FuzzExtract(f *testing.F) {
	for _, s := range [][2]string{
		{"", "Bearer abc"}, {"key", ""}, {"", "Basic x"}, {"", "Bearer a b"}, {"a\x00", ""},
		{"", "bearer  tok=="}, {" ", "Bearer"}, {"", "Bearer =="},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, apiKey, authorization string) {
		h := http.Header{}
		if apiKey != "" {
			h.Set("X-API-Key", apiKey)
		}
		if authorization != "" {
			h.Set("Authorization", authorization)
		}
		c, err := Extract(h, "X-API-Key")
		if err != nil {
			return
		}
		if c.Kind != None && (c.Value == "" || strings.ContainsFunc(c.Value, func(r rune) bool { return r < 0x20 || r > 0x7e })) {
			t.Fatalf("credential %q of kind %d", c.Value, c.Kind)
		}
		if c.Kind == Bearer && strings.Contains(c.Value, " ") {
			t.Fatalf("bearer token with a space: %q", c.Value)
		}
	})
}

// FuzzRolesFromClaims: any JSON claims and path give a bounded list of
// distinct, non-empty roles.
func FuzzRolesFromClaims(f *testing.F) {
	f.Add(`{"roles":["a","b"]}`, "roles")
	f.Add(`{"scope":"a b  c"}`, "scope")
	f.Add(`{"realm_access":{"roles":["x"]}}`, "realm_access.roles")
	f.Add(`{"a.b":{"c":["d"]}}`, "a.b.c")
	f.Add(`{"r":[1,null,{"x":1},"ok"]}`, "r")
	f.Fuzz(func(t *testing.T, doc, path string) {
		var claims map[string]any
		if json.Unmarshal([]byte(doc), &claims) != nil {
			return
		}
		roles := RolesFromClaims(claims, path)
		if len(roles) > MaxRoles {
			t.Fatalf("%d roles", len(roles))
		}
		seen := map[string]bool{}
		for _, r := range roles {
			if r == "" || seen[r] || strings.TrimSpace(r) != r {
				t.Fatalf("bad role %q in %q", r, roles)
			}
			seen[r] = true
		}
	})
}
