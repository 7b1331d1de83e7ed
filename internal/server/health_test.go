package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHealthzReportsAgents: liveness is always 200 "ok", with the time and
// the state of each background agent, a failing one included.
func TestHealthzReportsAgents(t *testing.T) {
	up := backend(t, `{}`, nil)
	files := map[string]string{"gateway.yaml": "upstreams:\n  up: {url: " + up.URL + "}\n",
		"p.yaml": "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n"}
	rt, err := Build(loadPlan(t, files), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(rt, Options{Readiness: []Check{
		{Name: "audit", Check: func(context.Context) error { return nil }},
		{Name: "nats", Check: func(context.Context) error { return errors.New("disconnected") }},
	}})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var h Health
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil || w.Code != http.StatusOK {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
	now, err := time.Parse(time.RFC3339, h.Now)
	if h.Status != "ok" || err != nil || time.Since(now) > time.Minute ||
		h.Agents["audit"] != "ok" || h.Agents["nats"] != "disconnected" || len(h.Agents) != 2 {
		t.Errorf("healthz = %+v, want ok, the time now and both agents", h)
	}
}
