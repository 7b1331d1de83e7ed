// Package event defines Call, the record of one finished pipeline call.
// The gateway builds it once per request, after the answer is written, and
// hands it to every Recorder: the audit publisher, metrics and the GraphQL
// runs subscription read the same facts.
package event

import (
	"context"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Surfaces a call can come through.
const (
	SurfaceREST    = "rest"
	SurfaceGraphQL = "graphql"
	SurfaceMCP     = "mcp"
	// SurfaceConsole is a run from the operator console's Run form.
	SurfaceConsole = "console"
)

// Call is one finished call of a pipeline. It holds no bodies and no
// secrets: only what an operator may see.
type Call struct {
	RequestID string
	TraceID   string
	Surface   string
	Pipeline  string
	Method    string
	Path      string // the request path (REST) or the pipeline's path
	Status    int    // the HTTP status the caller got (or would have, off HTTP)
	Problem   string // the problem type, when Status is an error
	Start     time.Time
	Duration  time.Duration
	Consumer  string // the caller's Identity.Key() ("key:chatgpt"), "" for anonymous
	Client    string // client address
	Cache     string // whole-response cache: hit, miss or "" when not cached
	Complete  bool
	Missing   []string
	Stale     []string
	Steps     []pipeline.StepTrace
}

// Recorder receives finished calls. Record must not block the caller for
// long: the answer has been written, but the handler's goroutine is still
// held until it returns.
type Recorder interface {
	Record(ctx context.Context, c *Call)
}

// Recorders fans a call out to several recorders in order.
type Recorders []Recorder

// Record implements Recorder.
func (rs Recorders) Record(ctx context.Context, c *Call) {
	for _, r := range rs {
		r.Record(ctx, c)
	}
}
