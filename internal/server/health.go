package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Check is one readiness condition besides the plan being loaded: the
// audit feature, for one, is ready when NATS is connected or events are
// being spooled. Check returns nil when ready.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// checkTimeout bounds each readiness check.
const checkTimeout = 2 * time.Second

// StartDrain makes /readyz answer 503 from now on, so that load balancers
// stop sending requests while the ones in flight finish.
func (s *Server) StartDrain() { s.draining.Store(true) }

// Readiness is the answer of /readyz: ready when a plan is loaded, every
// check passes and the gateway is not draining.
type Readiness struct {
	Status    string            `json:"status"` // ready | not ready | draining
	Pipelines int               `json:"pipelines"`
	Checks    map[string]string `json:"checks,omitempty"` // name: ok or what is wrong
	Plan      *PlanInfo         `json:"plan,omitempty"`
}

// Ready runs the readiness checks.
func (s *Server) Ready(ctx context.Context) Readiness {
	rd := Readiness{Status: "ready", Pipelines: len(s.Runtime().Plan.Pipelines), Checks: map[string]string{}}
	for _, c := range s.opts.Readiness {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := c.Check(cctx)
		cancel()
		if err != nil {
			rd.Checks[c.Name], rd.Status = err.Error(), "not ready"
			continue
		}
		rd.Checks[c.Name] = "ok"
	}
	if s.draining.Load() {
		rd.Status = "draining"
	}
	if s.opts.Plan != nil {
		pi := s.opts.Plan()
		rd.Plan = &pi
	}
	return rd
}

// Health is the answer of /healthz: the process is alive (always "ok"),
// the time it answered, and the state of its background agents (the
// readiness checks: audit publisher...), for a look at what it is doing.
// Liveness never fails on a dependency: that is what /readyz is for.
type Health struct {
	Status string            `json:"status"`
	Now    string            `json:"now"`    // RFC 3339, UTC
	Agents map[string]string `json:"agents"` // name: ok or what is wrong
}

// agentTimeout bounds each check when /healthz reports the agents: a
// liveness probe must answer at once.
const agentTimeout = 100 * time.Millisecond

// healthz answers 200 with the Health.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Now: time.Now().UTC().Format(time.RFC3339), Agents: map[string]string{}}
	for _, c := range s.opts.Readiness {
		ctx, cancel := context.WithTimeout(r.Context(), agentTimeout)
		if err := c.Check(ctx); err != nil {
			h.Agents[c.Name] = err.Error()
		} else {
			h.Agents[c.Name] = "ok"
		}
		cancel()
	}
	body, _ := json.Marshal(h)
	writeJSON(w, body)
}

// readyz answers 200 when ready, 503 otherwise, with the Readiness.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rd := s.Ready(r.Context())
	body, _ := json.Marshal(rd)
	if rd.Status != "ready" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(body)
		return
	}
	writeJSON(w, body)
}
