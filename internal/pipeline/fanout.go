package pipeline

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/itchyny/gojq"
)

// Bounds on the fan-out of one run, so that an upstream answering a long
// list (or a caller sending one) cannot make the gateway flood its
// upstreams.
const (
	// DefaultMaxItems is a foreach's max_items.
	DefaultMaxItems = 100
	// DefaultMaxCalls is a pipeline's max_calls.
	DefaultMaxCalls = 1000
)

// TruncatedHeader names the foreach steps that called for only their
// first max_items elements (truncate_items: true). It travels with the
// relayed headers, so that a cached answer keeps it.
const TruncatedHeader = "Manifold-Truncated"

// TooManyItemsError is a foreach that gave more elements than its
// max_items. No call was made for any of them.
type TooManyItemsError struct {
	Step         string
	Count, Limit int
	// FromCaller is set when the elements can only have come from the
	// caller's params or body (the foreach reads no step's result): the
	// caller is to blame, not an upstream.
	FromCaller bool
}

func (e *TooManyItemsError) Error() string {
	return fmt.Sprintf("foreach gave %d items, over its max_items of %d; no call was made", e.Count, e.Limit)
}

// TooManyCallsError is a run that would pass its pipeline's max_calls. The
// step's calls were not made.
type TooManyCallsError struct {
	Step  string
	Limit int
	Want  int // calls the step asked for (its foreach's elements, or 1)
	Made  int // calls the run had made (or reserved) before
}

func (e *TooManyCallsError) Error() string {
	return fmt.Sprintf("%d more calls would pass the pipeline's max_calls of %d (%d made); no call was made", e.Want, e.Limit, e.Made)
}

func intPtr(n int) *int { return &n }

// validateFanout checks max_items, truncate_items and max_calls.
func (c pctx) validateFanout(p *Pipeline) {
	maxCalls := DefaultMaxCalls
	if p.MaxCalls != nil {
		maxCalls = *p.MaxCalls
		if maxCalls < 1 {
			c.errorf([]string{"max_calls"}, "want a positive integer, got %d", maxCalls)
		} else if n := len(p.Steps); n > maxCalls {
			c.errorf([]string{"max_calls"}, "%d is less than the pipeline's %d steps", maxCalls, n)
		}
	}
	for _, name := range p.StepOrder {
		s := p.Steps[name]
		if s == nil {
			continue
		}
		key := func(k string) []string { return []string{"steps", name, k} }
		switch {
		case s.Foreach == nil && s.MaxItems != nil:
			c.keyErrorf(key("max_items"), "max_items bounds a foreach, and this step has none")
		case s.Foreach == nil && s.TruncateItems:
			c.keyErrorf(key("truncate_items"), "truncate_items bounds a foreach, and this step has none")
		case s.MaxItems != nil && *s.MaxItems < 1:
			c.errorf(key("max_items"), "want a positive integer, got %d", *s.MaxItems)
		case s.MaxItems != nil && maxCalls >= 1 && *s.MaxItems > maxCalls:
			c.errorf(key("max_items"), "%d is over the pipeline's max_calls of %d: the foreach could never run in full", *s.MaxItems, maxCalls)
		}
	}
}

// callerItems reports whether a foreach's elements can only come from the
// caller: the expression reads the params or the body and no step's
// result (a step with no needs sees none).
func callerItems(e *Expr, sees []string) bool {
	if e == nil {
		return false
	}
	q, err := gojq.Parse(e.Src)
	if err != nil {
		return false // reported by the compiler
	}
	keys := scanRefs(q).keys
	if slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(sees, k) }) {
		return false
	}
	return len(sees) == 0 || slices.Contains(keys, "params") || slices.Contains(keys, "body")
}

// bound applies the step's max_items to a foreach's elements before any
// call: over it, the step fails, or takes the first max_items when the
// step says truncate_items.
func (r *run) bound(st *step, items []any) ([]any, error) {
	limit := *st.cfg.MaxItems
	if len(items) <= limit {
		return items, nil
	}
	if !st.cfg.TruncateItems {
		return nil, &TooManyItemsError{Step: st.name, Count: len(items), Limit: limit, FromCaller: st.callerItems}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.truncated[st.index] = true
	return items[:limit], nil
}

// reserve takes n calls from the run's max_calls budget, all or none, so
// that a foreach never starts when it cannot finish.
func (r *run) reserve(st *step, n int) error {
	limit := int64(*r.p.MaxCalls)
	for {
		made := r.calls.Load()
		if made+int64(n) > limit {
			return &TooManyCallsError{Step: st.name, Limit: int(limit), Want: n, Made: int(made)}
		}
		if r.calls.CompareAndSwap(made, made+int64(n)) {
			return nil
		}
	}
}

// markTruncated lists the truncated foreach steps in the result and in
// the relayed headers (TruncatedHeader).
func (r *run) markTruncated(res *Result) {
	for i, st := range r.p.steps {
		if r.truncated[i] {
			res.Truncated = append(res.Truncated, st.name)
		}
	}
	if len(res.Truncated) == 0 {
		return
	}
	if res.Header == nil {
		res.Header = http.Header{}
	}
	res.Header.Set(TruncatedHeader, strings.Join(res.Truncated, ","))
}
