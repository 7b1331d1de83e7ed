package connectors

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// TestUpstreamErrorsHideURLUserPart: an upstream configured with a token
// in its URL's user part fails without naming the token.
func TestUpstreamErrorsHideURLUserPart(t *testing.T) {
	u, err := url.Parse("http://ghp_upstreamToken@127.0.0.1:1/api?key=query-secret")
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHTTP(Config{Name: "gh", URL: u})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Do(context.Background(), &Request{Path: "/x"})
	if err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "ghp_upstreamToken") || strings.Contains(msg, "query-secret") || !strings.Contains(msg, "127.0.0.1:1/api/x") {
		t.Errorf("error %q: want the URL without user part or query", msg)
	}
}
