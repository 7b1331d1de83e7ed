package pipeline

import (
	"net/url"

	"github.com/manifoldgw/manifold/connectors"
)

// UnknownQueryForward passes the query parameters a pipeline does not
// declare on to every http step's upstream, as they came (KrakenD's
// input_query_strings: ["*"]).
const UnknownQueryForward = "forward"

// UndeclaredQuery returns the query parameters of q that c does not
// declare, when c forwards them (unknown_query: forward); nil otherwise.
func (c *Compiled) UndeclaredQuery(q url.Values) url.Values {
	if c.UnknownQuery != UnknownQueryForward || len(q) == 0 {
		return nil
	}
	declared := map[string]bool{}
	for key, prm := range c.Params {
		if prm.In == "query" {
			declared[prm.WireName(key)] = true
		}
	}
	var out url.Values
	for k, vs := range q {
		if declared[k] {
			continue
		}
		if out == nil {
			out = url.Values{}
		}
		out[k] = vs
	}
	return out
}

// callerParts adds to req what comes from the caller rather than the
// step's templates: the headers it forwards, X-Forwarded-* and Forwarded,
// and the undeclared query parameters of unknown_query: forward (a
// parameter the step sets itself wins).
func (r *run) callerParts(st *step, req *connectors.Request) {
	req.Forward = st.forward.pick(r.in.Header)
	if st.via && r.in.Via != nil {
		req.Via = r.in.Via()
	}
	if st.graphql || len(r.in.Query) == 0 {
		return
	}
	if req.Query == nil {
		req.Query = url.Values{}
	}
	for k, vs := range r.in.Query {
		if _, set := req.Query[k]; !set {
			req.Query[k] = vs
		}
	}
}
