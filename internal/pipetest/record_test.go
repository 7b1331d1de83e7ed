package pipetest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecord records a real upstream's answers into a test file, with the
// secret from the environment redacted, then runs the file offline.
func TestRecord(t *testing.T) {
	const token = "tok-3f9a0c7e1b"
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name": "Ada", "seen_token": "` + token + `"}`))
	}))
	defer backend.Close()
	dir := t.TempDir()
	files := map[string]string{
		"gateway.yaml": "upstreams:\n  names: {url: \"${NAMES_URL}\", headers: {Authorization: \"Bearer ${NAMES_TOKEN}\"}}\n",
		"who.yaml":     "name: who\nmethod: GET\npath: /who/{id}\nparams:\n  id: {in: path, type: string}\nsteps:\n  person: {upstream: names, path: \"/people/${ .params.id }\"}\noutput: .person.name\n",
		"who.test.yaml": "# recorded by manifold test --record\ntests:\n  - name: who is ada\n    request: {pipeline: who, params: {id: a1}}\n" +
			"    expect:\n      body: Ada\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"NAMES_URL": backend.URL, "NAMES_TOKEN": token}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	var out bytes.Buffer
	rep, err := Run(Options{Dir: dir, Out: &out, Record: true, LookupEnv: lookup})
	if err != nil || rep.Failed() > 0 {
		t.Fatalf("record: %v\n%s", err, out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "who.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"# recorded by manifold test --record", "upstream: names", "path: /people/a1", "seen_token: REDACTED"} {
		if !strings.Contains(text, want) {
			t.Errorf("recorded file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, token) {
		t.Errorf("recorded file holds the secret:\n%s", text)
	}
	// Offline now: the backend is gone, the answers are canned.
	backend.Close()
	out.Reset()
	if rep, err := Run(Options{Dir: dir, Out: &out}); err != nil || rep.Failed() > 0 || rep.Passed() != 1 {
		t.Errorf("offline run: %v\n%s\n%s", err, out.String(), text)
	}
}
