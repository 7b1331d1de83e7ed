package pipeline_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMergedAnswersKeepUpstreamBytes: answers merged whole (no select,
// no output, needed by no step) are copied as the upstream wrote them,
// compacted: an integer beyond float64's precision survives, which
// decoding and encoding again would round; and the answer is the same
// JSON value as the decoding path's.
func TestMergedAnswersKeepUpstreamBytes(t *testing.T) {
	big := newBackend(t, jsonHandler("{\n  \"id\": 12345678901234567890,\n  \"price\": 1.50,\n  \"tags\": [ \"a\", \"<b>\" ]\n}\n"))
	other := newBackend(t, jsonHandler(`{"z":1,"a":2}`))
	empty := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	rt := load(t, map[string]string{"big": big.URL, "other": other.URL, "empty": empty.URL}, `
name: merged
path: /merged
steps:
  zeta: {upstream: other, path: /}
  alpha: {upstream: big, path: /}
  nothing: {upstream: empty, path: /}
`)
	res, err := run(t, rt, "merged", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `{"alpha":{"id":12345678901234567890,"price":1.50,"tags":["a","<b>"]},"nothing":null,"zeta":{"z":1,"a":2}}`
	if got := string(res.JSON); got != want {
		t.Errorf("answer = %s\nwant     %s", got, want)
	}
	v, err := res.Value()
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	if got := v.(map[string]any)["zeta"].(map[string]any)["a"]; got != 2.0 {
		t.Errorf("Value().zeta.a = %v, want 2", got)
	}
}

// TestMergedAnswersStillChecked: an answer passed through undecoded is
// still checked. Invalid JSON fails the step as before (an optional step
// goes missing); JSON with invalid UTF-8 is decoded, as it always was, so
// the answer stays valid UTF-8.
func TestMergedAnswersStillChecked(t *testing.T) {
	broken := newBackend(t, jsonHandler(`{"v":`))
	latin1 := newBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{\"city\":\"M\xfcnchen\"}")
	})
	ups := map[string]string{"broken": broken.URL, "latin1": latin1.URL}
	rt := load(t, ups, `
name: required
path: /required
steps:
  s: {upstream: broken, path: /}
`, `
name: optional
path: /optional
steps:
  s: {upstream: broken, path: /, optional: true}
  city: {upstream: latin1, path: /}
`)
	if _, err := run(t, rt, "required", nil); err == nil || !strings.Contains(err.Error(), "upstream answered invalid JSON") {
		t.Errorf("required step with invalid JSON: err = %v, want upstream answered invalid JSON", err)
	}
	res, err := run(t, rt, "optional", nil)
	if err != nil {
		t.Fatalf("optional: %v", err)
	}
	if got, want := string(res.JSON), "{\"city\":{\"city\":\"M\uFFFDnchen\"},\"s\":null}"; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if strings.Join(res.Missing, ",") != "s" {
		t.Errorf("missing = %v, want s", res.Missing)
	}
	if !json.Valid(res.JSON) {
		t.Errorf("answer is not valid JSON: %q", res.JSON)
	}
}

// TestNeededAnswersAreDecoded: a step another step needs is decoded for
// it, and both still merge into the answer.
func TestNeededAnswersAreDecoded(t *testing.T) {
	first := newBackend(t, jsonHandler(`{"next":"b"}`))
	second := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	})
	rt := load(t, map[string]string{"first": first.URL, "second": second.URL}, `
name: chain
path: /chain
steps:
  a: {upstream: first, path: /}
  b: {upstream: second, path: "/${ .a.next }", needs: [a]}
`)
	res, err := run(t, rt, "chain", nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := string(res.JSON), `{"a":{"next":"b"},"b":{"path":"/b"}}`; got != want {
		t.Errorf("answer = %s, want %s", got, want)
	}
}
