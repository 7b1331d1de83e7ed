package server

import (
	"net/http"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// setCacheControl sets a pipeline's cache_control on a complete answer:
// never on a problem, nor on an answer with a step missing or served
// stale, which a cache must not keep for the time the author meant for
// a whole, fresh one (KrakenD drops it on incomplete answers too).
func setCacheControl(h http.Header, p *pipeline.Compiled, o *Outcome) {
	if p.CacheControl == "" || o.Err != nil || len(o.Missing()) > 0 || len(o.Stale()) > 0 {
		return
	}
	h.Set("Cache-Control", p.CacheControl)
}
