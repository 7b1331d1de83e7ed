package connectors

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStatusErrorText: a text error answer keeps its body as text and
// its Content-Type; JSON stays in Body; other media types keep neither.
func TestStatusErrorText(t *testing.T) {
	for _, c := range []struct{ ctype, body, text, json string }{
		{"text/plain; charset=utf-8", "404 page not found\n", "404 page not found\n", ""},
		{"application/json", `{"error":"x"}`, "", `{"error":"x"}`},
		{"application/octet-stream", "\x00\x01", "", ""},
		{"text/plain", "\xff\xfe", "", ""},
	} {
		resp := &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {c.ctype}}, Body: io.NopCloser(strings.NewReader(c.body))}
		e := statusError(resp)
		if e.Text != c.text || string(e.Body) != c.json || e.ContentType != c.ctype {
			t.Errorf("%s: Text %q Body %q ContentType %q", c.ctype, e.Text, e.Body, e.ContentType)
		}
	}
}
