package pipeline_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestDeepMergeKeepsDataPastMissingSteps: with merge: deep, a failed
// optional step or a step skipped by `when` adds nothing, wherever it
// comes in the order: the other steps' data stays, and the answer is not
// null.
func TestDeepMergeKeepsDataPastMissingSteps(t *testing.T) {
	a := newBackend(t, jsonHandler(`{"product":{"id":1,"name":"Milk"}}`))
	b := newBackend(t, jsonHandler(`{"product":{"price":1.29}}`))
	broken := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) })
	rt := load(t, map[string]string{"a": a.URL, "b": b.URL, "broken": broken.URL}, `
name: failedLast
path: /failed-last
merge: deep
steps:
  a: {upstream: a, path: /}
  b: {upstream: b, path: /}
  z: {upstream: broken, path: /, optional: true}
`, `
name: skippedLast
path: /skipped-last
merge: deep
params:
  more: {type: boolean, default: false}
steps:
  a: {upstream: a, path: /}
  b: {upstream: b, path: /}
  z: {upstream: b, path: /, when: .params.more}
`, `
name: failedFirst
path: /failed-first
merge: deep
steps:
  a0: {upstream: broken, path: /, optional: true}
  a: {upstream: a, path: /}
  b: {upstream: b, path: /}
`)
	want := `{"product":{"id":1,"name":"Milk","price":1.29}}`
	for _, c := range []struct{ name, missing string }{{"failedLast", "z"}, {"skippedLast", ""}, {"failedFirst", "a0"}} {
		t.Run(c.name, func(t *testing.T) {
			res, err := run(t, rt, c.name, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := string(res.JSON); got != want {
				t.Errorf("answer = %s, want %s", got, want)
			}
			if got := strings.Join(res.Missing, ","); got != c.missing {
				t.Errorf("missing = %q, want %q", got, c.missing)
			}
		})
	}
}
