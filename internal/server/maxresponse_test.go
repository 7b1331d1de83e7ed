package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// TestConfiguredMaxResponse: server.max_response set above and below the
// 100 KB default is the cap that applies, to the byte: an answer of
// exactly the cap is served, one byte more is a 502 naming the size.
func TestConfiguredMaxResponse(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"s":%q}`, strings.Repeat("x", n))
	}))
	defer backend.Close()
	for _, limit := range []int{gateway.DefaultMaxResponse * 2, gateway.DefaultMaxResponse / 2} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			rt, err := Build(loadPlan(t, map[string]string{
				"gateway.yaml": fmt.Sprintf("server: {max_response: %dB}\nupstreams:\n  up: {url: %q, max_response: 1MiB}\n", limit, backend.URL),
				"p.yaml": "name: big\npath: /big\nparams:\n  n: {in: query, type: integer, required: true}\n" +
					"steps:\n  a: {upstream: up, path: /, query: {n: '${ .params.n }'}}\noutput: .a.s\n",
			}), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			front := httptest.NewServer(New(rt, Options{}))
			defer front.Close()
			get := func(size int) (int, string) {
				// The answer is the JSON string: its quotes add 2 bytes.
				res, err := http.Get(front.URL + "/big?n=" + strconv.Itoa(size-2))
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(body)
			}
			if st, body := get(limit); st != http.StatusOK || len(body) != limit {
				t.Errorf("an answer of exactly %d bytes: %d, %d bytes", limit, st, len(body))
			}
			st, body := get(limit + 1)
			if st != http.StatusBadGateway || !strings.Contains(body, strconv.Itoa(limit)) {
				t.Errorf("an answer of %d bytes: %d %.300s", limit+1, st, body)
			}
			if limit > gateway.DefaultMaxResponse {
				if st, _ := get(gateway.DefaultMaxResponse + 1); st != http.StatusOK {
					t.Errorf("an answer over the default but under the configured cap: %d", st)
				}
			} else if st, _ := get(limit + 1000); st != http.StatusBadGateway {
				t.Errorf("an answer under the default but over the configured cap: %d", st)
			}
		})
	}
}
