package pipetest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// testEnv resolves the ${NAME}s of testdata's gateway.yaml files.
func testEnv(name string) (string, bool) {
	if name == "GREETINGS_URL" {
		return "http://greetings.test", true
	}
	return "", false
}

// golden compares got with a file of testdata, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (- want, + got):\n%s", path, Diff(string(want), got))
	}
}

// TestRunFailing runs a directory whose tests fail on purpose, one way
// each (a body, a status, a header, a jq assertion, a call not made, a
// call without a canned answer): the output names each failure at its
// file:line, with a diff for the body.
func TestRunFailing(t *testing.T) {
	var out bytes.Buffer
	rep, err := Run(Options{Dir: filepath.Join("testdata", "failing"), Out: &out, LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed() != 1 || rep.Failed() != 4 {
		t.Errorf("passed %d, failed %d; want 1 and 4", rep.Passed(), rep.Failed())
	}
	golden(t, filepath.Join("testdata", "failing", "output.golden"), out.String())
}

// TestRunFilterAndJUnit: --run selects tests by name, and the JUnit
// report has a case per test with the failure's location.
func TestRunFilterAndJUnit(t *testing.T) {
	var out bytes.Buffer
	rep, err := Run(Options{Dir: filepath.Join("testdata", "failing"), Out: &out, LookupEnv: testEnv,
		Filter: regexp.MustCompile(`^(passes|wrong body)$`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "PASS passes\nFAIL wrong body (") || !strings.HasSuffix(got, "1 passed, 1 failed\n") {
		t.Errorf("output:\n%s", got)
	}
	var buf bytes.Buffer
	if err := rep.JUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 2 {
		t.Fatalf("JUnit: %s", buf.String())
	}
	f := doc.Suites[0].Cases[1].Failure
	if f == nil || f.Message != filepath.Join("testdata", "failing", "hello.test.yaml")+":17: body differs (- want, + got):" {
		t.Errorf("JUnit failure: %+v", f)
	}
	if _, err := Run(Options{Dir: filepath.Join("testdata", "failing"), LookupEnv: testEnv, Filter: regexp.MustCompile(`nothing`)}); !errors.Is(err, ErrNoTests) {
		t.Errorf("a filter matching nothing: %v, want ErrNoTests", err)
	}
}

// TestRunDemo runs the demo directory's tests: every one passes offline,
// without the demo backends or their URLs.
func TestRunDemo(t *testing.T) {
	var out bytes.Buffer
	rep, err := Run(Options{Dir: filepath.Join("..", "..", "pipelines"), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() > 0 || rep.Passed() < 12 {
		t.Errorf("passed %d, failed %d:\n%s", rep.Passed(), rep.Failed(), out.String())
	}
	for _, p := range []string{"cityDeals", "nearestMarkets", "placeOrder", "productSearch"} {
		if !strings.Contains(out.String(), "PASS "+p) {
			t.Errorf("no test of %s ran", p)
		}
	}
}

// TestLoadFileErrors: a broken test file is refused with every error at
// file:line:column, as pipelines are.
func TestLoadFileErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"unknown key", "tests:\n  - name: a\n    request: {pipeline: p}\n    expect: {statuss: 200}\n",
			"t.test.yaml:4:14: tests[0].expect.statuss: unknown key \"statuss\": did you mean status?"},
		{"wrong type", "tests:\n  - name: a\n    request: {pipeline: p}\n    expect: {jq: [{a: 1}]}\n",
			"t.test.yaml:4:20: tests[0].expect.jq[0]: want a string, got a mapping"},
		{"no name", "tests:\n  - request: {pipeline: p}\n",
			"t.test.yaml:2:5: tests[0].name: missing: every test needs a name"},
		{"duplicate name", "tests:\n  - {name: a, request: {pipeline: p}}\n  - {name: a, request: {pipeline: p}}\n",
			"t.test.yaml:3:12: tests[1].name: test \"a\" is already defined at line 2"},
		{"no route", "tests:\n  - name: a\n    request: {params: {x: 1}}\n",
			"t.test.yaml:3:15: tests[0].request: want pipeline: NAME, or method: and path:"},
		{"bad fail", "tests:\n  - name: a\n    request: {pipeline: p}\n    answers: [{step: s, fail: dns}]\n",
			"t.test.yaml:4:31: tests[0].answers[0].fail: \"dns\": want connection or timeout"},
		{"answer for nothing", "tests:\n  - name: a\n    request: {pipeline: p}\n    answers: [{status: 200}]\n",
			"t.test.yaml:4:16: tests[0].answers[0]: want step: NAME or upstream: NAME (which calls this answers)"},
		{"bad consumer", "tests:\n  - name: a\n    request: {pipeline: p, consumer: {roles: [x]}}\n",
			"t.test.yaml:3:39: tests[0].request.consumer: want a consumer name or {name: NAME, roles: [ROLE, ...]}"},
		{"bad delay", "tests:\n  - name: a\n    request: {pipeline: p}\n    answers: [{step: s, delay: soon}]\n",
			"t.test.yaml:4:32: tests[0].answers[0].delay: invalid duration \"soon\": want a duration such as \"800ms\" or \"5m\""},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "t.test.yaml")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFile(path)
			errs, ok := yamlconf.AsErrors(err)
			if !ok || len(errs) != 1 {
				t.Fatalf("LoadFile: %v, want one located error", err)
			}
			if got := strings.TrimPrefix(errs[0].Error(), dir+string(filepath.Separator)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
