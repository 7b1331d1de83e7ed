// Package lbtest is a plain round-robin load balancer for tests that run
// several gateway replicas: an http.RoundTripper that sends each request
// to the next replica in turn and records who answered which JSON-RPC
// method, so a test can tell which replica served an MCP request.
package lbtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// Served is one request a replica answered.
type Served struct {
	Replica int    // index in RoundRobin.Bases
	Method  string // the JSON-RPC method of the body, "" for none
	Status  int
}

// RoundRobin sends request i to Bases[i%len(Bases)].
type RoundRobin struct {
	Bases []string // base URLs of the replicas
	mu    sync.Mutex
	next  int
	log   []Served
}

// RoundTrip implements http.RoundTripper.
func (rr *RoundRobin) RoundTrip(r *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	i := rr.next % len(rr.Bases)
	rr.next++
	rr.mu.Unlock()
	var msg struct{ Method string }
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = json.Unmarshal(body, &msg)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	base, err := url.Parse(rr.Bases[i])
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = base.Scheme, base.Host, ""
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		rr.mu.Lock()
		rr.log = append(rr.log, Served{i, msg.Method, resp.StatusCode})
		rr.mu.Unlock()
	}
	return resp, err
}

// Log is every request answered so far, in order.
func (rr *RoundRobin) Log() []Served {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]Served(nil), rr.log...)
}

// Answered maps each JSON-RPC method to the replicas that answered it
// with 200.
func (rr *RoundRobin) Answered() map[string]map[int]bool {
	ok := map[string]map[int]bool{}
	for _, s := range rr.Log() {
		if s.Status != http.StatusOK || s.Method == "" {
			continue
		}
		if ok[s.Method] == nil {
			ok[s.Method] = map[int]bool{}
		}
		ok[s.Method][s.Replica] = true
	}
	return ok
}
