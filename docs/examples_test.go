package docs

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// exampleSpec is an example directory's test.json: the canned backends it
// runs against and the requests whose answers the docs show.
type exampleSpec struct {
	// Env maps a ${NAME} of the example's gateway.yaml to the backend
	// whose URL it is; Values gives the other variables as they are.
	Env      map[string]string         `json:"env"`
	Values   map[string]string         `json:"values"`
	Backends map[string][]cannedAnswer `json:"backends"`
	Requests []exampleRequest          `json:"requests"`
}

// cannedAnswer is what a backend answers to one request.
type cannedAnswer struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"` // encoded, names sorted; "" for none
	// Header and RequestBody, when set, must be what the gateway sent.
	Header      map[string]string `json:"header"`
	RequestBody json.RawMessage   `json:"request_body"`
	Status      int               `json:"status"`
	Body        json.RawMessage   `json:"body"`
	// TextFile names a file of the example answered as it is instead of
	// Body (XML, SVG); ResponseHeader sets answer headers (Content-Type:
	// JSON unless set).
	TextFile       string `json:"text_file"`
	text           string
	ResponseHeader map[string]string `json:"response_header"`
}

// exampleRequest is one call to the example's gateway and its answer.
type exampleRequest struct {
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Header map[string]string `json:"header"`
	Body   json.RawMessage   `json:"body"`
	Status int               `json:"status"`
	// Answer names a file of the example holding the exact JSON answer
	// (the docs show it); Problem lists members a problem must have.
	Answer         string            `json:"answer"`
	Problem        map[string]any    `json:"problem"`
	ResponseHeader map[string]string `json:"response_header"`
}

// TestExamples loads every example directory as `manifold serve` does,
// serves it against canned backends and checks the documented answers.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("examples", "*", "test.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runExample(t, dir)
		})
	}
}

func runExample(t *testing.T, dir string) {
	var spec exampleSpec
	data, err := os.ReadFile(filepath.Join(dir, "test.json"))
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		t.Fatalf("test.json: %v", err)
	}
	env := map[string]string{}
	for name, v := range spec.Values {
		env[name] = v
	}
	for name, backend := range spec.Env {
		answers := spec.Backends[backend]
		for i, a := range answers {
			if a.TextFile != "" {
				text, err := os.ReadFile(filepath.Join(dir, a.TextFile))
				if err != nil {
					t.Fatal(err)
				}
				answers[i].text = string(text)
			}
		}
		env[name] = cannedBackend(t, backend, answers)
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	base := serve(t, plan)
	for _, r := range spec.Requests {
		checkRequest(t, dir, base, r)
	}
}

// cannedBackend serves the canned answers of one backend and fails the
// test on a request it has no answer for.
func cannedBackend(t *testing.T, name string, answers []cannedAnswer) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, a := range answers {
			if a.Method == r.Method && a.Path == r.URL.Path && a.Query == r.URL.Query().Encode() {
				checkSent(t, name, a, r.Header, body)
				answer(w, a)
				return
			}
		}
		t.Errorf("backend %s: no canned answer for %s %s?%s", name, r.Method, r.URL.Path, r.URL.Query().Encode())
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// answer writes one canned answer: its headers, status and body.
func answer(w http.ResponseWriter, a cannedAnswer) {
	w.Header().Set("Content-Type", "application/json")
	for k, v := range a.ResponseHeader {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.Status)
	if a.TextFile != "" {
		_, _ = io.WriteString(w, a.text)
		return
	}
	_, _ = w.Write(a.Body)
}

func checkSent(t *testing.T, backend string, a cannedAnswer, h http.Header, body []byte) {
	for k, v := range a.Header {
		if got := h.Get(k); got != v {
			t.Errorf("backend %s %s: header %s = %q, want %q", backend, a.Path, k, got, v)
		}
	}
	if a.RequestBody != nil && !sameJSON(a.RequestBody, body) {
		t.Errorf("backend %s %s: body %s, want %s", backend, a.Path, body, a.RequestBody)
	}
}

// serve runs the plan's gateway on an ephemeral port until the test ends.
func serve(t *testing.T, plan *pipeline.Plan) string {
	base, _ := launchtest.Serve(t, plan, launch.Options{})
	return base
}

func checkRequest(t *testing.T, dir, base string, r exampleRequest) {
	name := r.Method + " " + r.Path
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, base+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != r.Status {
		t.Errorf("%s: status %d, want %d\n%s", name, resp.StatusCode, r.Status, got)
	}
	for k, v := range r.ResponseHeader {
		if h := resp.Header.Get(k); h != v {
			t.Errorf("%s: header %s = %q, want %q", name, k, h, v)
		}
	}
	if r.Answer != "" {
		want, err := os.ReadFile(filepath.Join(dir, r.Answer))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(want, got) {
			t.Errorf("%s: the answer differs from %s\n got: %s\nwant: %s", name, r.Answer, got, want)
		}
	}
	checkProblem(t, name, got, r.Problem)
}

// checkProblem requires each listed member in the problem document.
func checkProblem(t *testing.T, name string, got []byte, want map[string]any) {
	if len(want) == 0 {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatalf("%s: not a problem document: %s", name, got)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reflect.DeepEqual(doc[k], want[k]) {
			t.Errorf("%s: problem member %s = %v, want %v\n%s", name, k, doc[k], want[k], got)
		}
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return strings.TrimSpace(string(a)) == strings.TrimSpace(string(b))
	}
	return reflect.DeepEqual(x, y)
}
