package connectors

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestErrorDetailShapes checks the JSON error bodies whose reason becomes
// a StatusError's Detail, in order of preference.
func TestErrorDetailShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"error": true, "reason": "Latitude must be in range of -90 to 90°. Given: 91.0."}`: "Latitude must be in range of -90 to 90°. Given: 91.0.",
		`{"reason": "quota exceeded"}`:                     "quota exceeded",
		`{"error": "bad city", "reason": "other"}`:         "bad city",
		`{"message": "first", "reason": "second"}`:         "first",
		`{"error": false, "message": "m"}`:                 "m",
		`{"error": 42}`:                                    "",
		`{"error": {"message": "nested"}}`:                 "nested",
		`{"title": "Bad Request", "reason": "the reason"}`: "the reason",
		`{"detail": "d", "title": "t", "reason": "r"}`:     "d",
		`{"reason": "line one\nline two\u0007end"}`:        "line one line two end",
		`{"reason": ["not", "a", "string"]}`:               "",
	} {
		if got := clip(jsonDetail([]byte(body))); got != want {
			t.Errorf("detail of %s = %q, want %q", body, got, want)
		}
	}
	long := `{"error": true, "reason": "` + strings.Repeat("x", 500) + `"}`
	if got := clip(jsonDetail([]byte(long))); len(got) > detailMax+len("…") {
		t.Errorf("detail of a long reason is %d bytes, want at most %d", len(got), detailMax)
	}
}

// TestErrorDetailOptOut checks that NoErrorDetail keeps an upstream's
// reason out of the error, while the status still comes through.
func TestErrorDetailOptOut(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error": true, "reason": "Latitude must be in range of -90 to 90°."}`))
	})
	for _, off := range []bool{false, true} {
		cfg := config(t, srv.URL)
		cfg.NoErrorDetail = off
		h, err := NewHTTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/v1/forecast"})
		h.Close()
		var serr *StatusError
		if !errors.As(err, &serr) || serr.Status != http.StatusBadRequest {
			t.Fatalf("NoErrorDetail=%v: error %v, want a 400 StatusError", off, err)
		}
		want := "Latitude must be in range of -90 to 90°."
		if off {
			want = ""
		}
		if serr.Detail != want {
			t.Errorf("NoErrorDetail=%v: detail %q, want %q", off, serr.Detail, want)
		}
	}
}
