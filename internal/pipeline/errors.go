package pipeline

import (
	"fmt"
	"strings"
	"time"
)

// StepError is a step that failed: its upstream failed, or one of its
// expressions did.
type StepError struct {
	Step     string
	Upstream string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %q (upstream %s): %v", e.Step, e.Upstream, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// TimeoutError is a run that reached its pipeline's timeout with required
// steps still pending.
type TimeoutError struct {
	Pipeline string
	Timeout  time.Duration
	Pending  []string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("pipeline %s timed out after %s waiting for %s", e.Pipeline, e.Timeout, strings.Join(e.Pending, ", "))
}

// OutputError is a failure to build the answer from the step results.
type OutputError struct {
	Pipeline string
	Err      error
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("pipeline %s: output: %v", e.Pipeline, e.Err)
}
func (e *OutputError) Unwrap() error { return e.Err }

// TooLargeError is an answer over the response size cap.
type TooLargeError struct {
	Pipeline    string
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("pipeline %s: answer of %d bytes is over the %d byte limit; set truncate: to shrink it", e.Pipeline, e.Size, e.Limit)
}
