package pipeline_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// listOf answers a JSON array of n numbers.
func listOf(n int) http.HandlerFunc {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	return jsonHandler("[" + strings.Join(items, ",") + "]")
}

const fanoutPipeline = `name: fan
path: /fan
steps:
  list:
    upstream: lists
    path: /list
  each:
    upstream: items
    needs: [list]
    foreach: .list
    path: /items/${ .item }
%s`

// TestForeachOverMaxItemsFromUpstream: 500 items from an upstream answer
// against the default max_items of 100 fail the run with a 502 naming the
// step, the bound and the count, before any element call.
func TestForeachOverMaxItemsFromUpstream(t *testing.T) {
	lists, items := newBackend(t, listOf(500)), newBackend(t, jsonHandler(`{}`))
	rt := load(t, map[string]string{"lists": lists.URL, "items": items.URL}, fmt.Sprintf(fanoutPipeline, ""))
	_, err := run(t, rt, "fan", nil)
	var tm *pipeline.TooManyItemsError
	if !errors.As(err, &tm) || tm.Count != 500 || tm.Limit != 100 || tm.FromCaller {
		t.Fatalf("err = %v, want a TooManyItemsError 500 > 100 not from the caller", err)
	}
	if n := items.calls.Load(); n != 0 {
		t.Errorf("%d element calls were made, want 0", n)
	}
	p := problem.From(err)
	want := "step each: foreach gave 500 items from upstream results, over its max_items of 100; no call was made"
	if p.Status != http.StatusBadGateway || p.Type != problem.TypePrefix+"too-many-items" || p.Detail != want || p.Step != "each" || p.Upstream != "items" {
		t.Errorf("problem = %+v, want a 502 too-many-items saying %q", p, want)
	}
}

// TestForeachTruncateItems: truncate_items calls for the first max_items
// elements only and names the step in Result.Truncated and the
// Manifold-Truncated header.
func TestForeachTruncateItems(t *testing.T) {
	lists, items := newBackend(t, listOf(500)), newBackend(t, jsonHandler(`1`))
	rt := load(t, map[string]string{"lists": lists.URL, "items": items.URL},
		fmt.Sprintf(fanoutPipeline, "    truncate_items: true\n"))
	res, err := run(t, rt, "fan", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := items.calls.Load(); n != 100 {
		t.Errorf("%d element calls were made, want 100", n)
	}
	if got := res.Data.(map[string]any)["each"].([]any); len(got) != 100 {
		t.Errorf("each has %d results, want 100", len(got))
	}
	if len(res.Truncated) != 1 || res.Truncated[0] != "each" || res.Header.Get(pipeline.TruncatedHeader) != "each" {
		t.Errorf("truncated = %v, header %q; want each", res.Truncated, res.Header.Get(pipeline.TruncatedHeader))
	}
	if !res.Complete() {
		t.Errorf("a truncated answer is complete (it did what the pipeline asks), missing = %v", res.Missing)
	}
}

// TestForeachOverMaxItemsFromCaller: items from the caller's params are
// the caller's 400.
func TestForeachOverMaxItemsFromCaller(t *testing.T) {
	items := newBackend(t, jsonHandler(`{}`))
	rt := load(t, map[string]string{"items": items.URL}, `name: byids
path: /byids
params:
  ids: {type: array, items: {type: integer}}
steps:
  each:
    upstream: items
    foreach: .params.ids
    path: /items/${ .item }
    max_items: 3
`)
	_, err := run(t, rt, "byids", map[string]any{"ids": []any{1, 2, 3, 4}})
	p := problem.From(err)
	want := "step each: the request gives 4 items to its foreach, over its max_items of 3; no call was made"
	if p.Status != http.StatusBadRequest || p.Detail != want {
		t.Errorf("problem = %+v, want a 400 saying %q", p, want)
	}
	if n := items.calls.Load(); n != 0 {
		t.Errorf("%d calls were made, want 0", n)
	}
	if _, err := run(t, rt, "byids", map[string]any{"ids": []any{1, 2, 3}}); err != nil || items.calls.Load() != 3 {
		t.Errorf("3 items: err %v, %d calls; want 3 calls", err, items.calls.Load())
	}
}

// TestMaxCallsOverSeveralForeach: three foreach steps of 40 items against
// max_calls: 100: the first two run (1 + 80 calls), the third is refused
// whole, before any of its calls.
func TestMaxCallsOverSeveralForeach(t *testing.T) {
	lists, items := newBackend(t, listOf(40)), newBackend(t, jsonHandler(`1`))
	var steps strings.Builder
	for i, need := range []string{"list", "a", "b"} {
		fmt.Fprintf(&steps, "  %c:\n    upstream: items\n    needs: [%s]\n    foreach: .list\n    path: /i/${ .item }\n",
			'a'+i, need)
	}
	rt := load(t, map[string]string{"lists": lists.URL, "items": items.URL},
		"name: budget\npath: /budget\nmax_calls: 100\nsteps:\n  list: {upstream: lists, path: /list}\n"+steps.String())
	_, err := run(t, rt, "budget", nil)
	var tc *pipeline.TooManyCallsError
	if !errors.As(err, &tc) || tc.Step != "c" || tc.Limit != 100 || tc.Want != 40 || tc.Made != 81 {
		t.Fatalf("err = %v, want a TooManyCallsError at step c (40 wanted, 81 made)", err)
	}
	if n := items.calls.Load(); n != 80 {
		t.Errorf("%d element calls were made, want 80", n)
	}
	p := problem.From(err)
	want := "step c: 40 more calls would pass the pipeline's max_calls of 100 (81 made); no call was made"
	if p.Status != http.StatusBadGateway || p.Type != problem.TypePrefix+"too-many-calls" || p.Detail != want || p.Step != "c" {
		t.Errorf("problem = %+v, want a 502 too-many-calls saying %q", p, want)
	}
}
