package security

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkRequest is one whole request through the locked-down gateway
// over loopback HTTP (backend call included), anonymous on a public
// pipeline and authenticated on a protected one: the difference is what
// authentication, roles and rate-limit bookkeeping add.
func BenchmarkRequest(b *testing.B) {
	l := startLab(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	run := func(b *testing.B, path string, headers ...string) {
		req := request(b, "GET", l.base+path, "", headers...)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("anonymous", func(b *testing.B) { run(b, "/v1/items/p1") })
	b.Run("api-key", func(b *testing.B) { run(b, "/v1/orders", "X-API-Key", l.secrets["reader key"]) })
	b.Run("jwt-rs256", func(b *testing.B) { run(b, "/v1/orders", "Authorization", "Bearer "+l.secrets["buyer JWT"]) })
}
