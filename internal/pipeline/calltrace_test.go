package pipeline_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCallTraces: each upstream call of a step is traced on its own,
// inside its step's span, with its status and attempts; a foreach step
// has one per element.
func TestCallTraces(t *testing.T) {
	items := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/b") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		jsonHandler(`{"ok":true}`)(w, r)
	})
	list := newBackend(t, jsonHandler(`{"ids":["a","b","c"]}`))
	rt := load(t, map[string]string{"list": list.URL, "items": items.URL}, `
name: each
path: /each
steps:
  list: {upstream: list, path: /, select: .ids}
  items:
    upstream: items
    needs: [list]
    foreach: .list
    path: /items/${ .item }
    on_status: {404: null}
output: .items
`)
	res, err := run(t, rt, "each", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := len(res.Steps[0].CallTraces); n != 1 {
		t.Errorf("list: %d call traces, want 1", n)
	}
	st := res.Steps[1]
	if len(st.CallTraces) != 3 || st.Calls != 3 {
		t.Fatalf("items: %d call traces for %d calls, want 3", len(st.CallTraces), st.Calls)
	}
	statuses := map[int]int{}
	for _, ct := range st.CallTraces {
		statuses[ct.Status]++
		if ct.Start < st.Start || ct.Start+ct.Duration > st.Start+st.Duration || ct.Attempts != 1 {
			t.Errorf("call %+v is not inside its step (%v for %v) or has %d attempts", ct, st.Start, st.Duration, ct.Attempts)
		}
	}
	if statuses[200] != 2 || statuses[404] != 1 {
		t.Errorf("call statuses %v, want two 200 and one 404", statuses)
	}
}
