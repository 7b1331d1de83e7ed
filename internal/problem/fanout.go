package problem

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// fromItems maps a foreach over its max_items. Elements read from the
// caller's params or body are the caller's to fix (400); elements from an
// upstream's answer mean it answered more than the pipeline allows (502,
// like an answer over its size limit).
func fromItems(e *pipeline.TooManyItemsError) *Problem {
	if e.FromCaller {
		return New("too-many-items", http.StatusBadRequest,
			fmt.Sprintf("step %s: the request gives %d items to its foreach, over its max_items of %d; no call was made", e.Step, e.Count, e.Limit))
	}
	return New("too-many-items", http.StatusBadGateway,
		fmt.Sprintf("step %s: foreach gave %d items from upstream results, over its max_items of %d; no call was made", e.Step, e.Count, e.Limit))
}

// fromCalls maps a run that would pass its pipeline's max_calls: the
// pipeline's fan-out grew past its bound on the upstreams' data (502).
func fromCalls(e *pipeline.TooManyCallsError) *Problem {
	return New("too-many-calls", http.StatusBadGateway,
		fmt.Sprintf("step %s: %d more calls would pass the pipeline's max_calls of %d (%d made); no call was made", e.Step, e.Want, e.Limit, e.Made))
}

// named fills in the step and upstream of the StepError err carries.
func named(p *Problem, err error) *Problem {
	var se *pipeline.StepError
	if errors.As(err, &se) {
		p.Step, p.Upstream = se.Step, se.Upstream
	}
	return p
}
