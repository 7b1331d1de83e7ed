package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Error is a located load error: the file, the position of the offending
// key or value, the dotted key path, and what is wrong with it.
type Error struct {
	File   string
	Line   int
	Column int
	Key    string // dotted path of the offending key, e.g. "steps.deals.needs"
	Msg    string
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Key != "" {
		msg = e.Key + ": " + msg
	}
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, msg)
}

// Errors is every load error of a directory, sorted by file and position.
// Load returns it (never an empty one) when anything is wrong.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// AsErrors returns the located errors inside err, if any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}, true
	}
	return nil, false
}

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
