package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// answer is one recorded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request to h and records the answer.
func do(t *testing.T, h http.Handler, method, target, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// decode unmarshals the answer's body into v, failing the test on error.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, a.body)
	}
}

// wantJSON checks a successful JSON answer and decodes it into v.
func (a answer) wantJSON(t *testing.T, v any) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	a.decode(t, v)
}

// wantProblem checks an RFC 9457 problem answer with the given status whose
// detail contains detailPart, and returns the problem.
func (a answer) wantProblem(t *testing.T, status int, detailPart string) problem {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	a.decode(t, &p)
	if p.Type == "" || p.Title == "" || p.Status != status || p.Detail == "" {
		t.Fatalf("incomplete problem document: %+v", p)
	}
	if !strings.Contains(p.Detail, detailPart) {
		t.Fatalf("detail = %q, want it to contain %q", p.Detail, detailPart)
	}
	return p
}

// ids lists the "id" of every element.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}
