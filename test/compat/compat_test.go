// Package compat runs KrakenD CE's integration suite (tests/fixtures,
// Apache-2.0) against Manifold: its gateway config ported to the pipeline
// directory testdata/pipelines, its backends re-implemented in
// backend_test.go, each spec's request sent to Manifold and its answer
// compared as compare_test.go says.
package compat

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestCase is one spec file of KrakenD's suite.
type TestCase struct {
	Name string `json:"-"`
	In   Input  `json:"in"`
	Out  Output `json:"out"`
}

// Input is a spec's request.
type Input struct {
	URL    string            `json:"url"`
	Method string            `json:"method"`
	Header map[string]string `json:"header"`
	Body   any               `json:"body"`
}

// Output is a spec's expected answer.
type Output struct {
	StatusCode int                 `json:"status_code"`
	Body       any                 `json:"body"`
	Header     map[string][]string `json:"header"`
	Schema     map[string]any      `json:"schema"`
}

// sim2 is the HS256 key of KrakenD's /jwk/symmetric (kid sim2) that the
// suite's tokens are signed with.
const sim2 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"

// TestKrakenDSuite sends every in-scope spec's request to Manifold and
// checks the answer against the verdict recorded in cases.go.
func TestKrakenDSuite(t *testing.T) {
	base := startGateway(t)
	specs := loadSpecs(t)
	counts := map[verdict]int{}
	for _, tc := range specs {
		t.Run(tc.Name, func(t *testing.T) {
			c, ok := cases[tc.Name]
			if !ok {
				t.Fatalf("%s has no entry in cases", tc.Name)
			}
			counts[c.verdict]++
			status, h, body := send(t, base, tc.In)
			if c.noop {
				delete(tc.Out.Header, "X-Krakend-Completed")
			}
			diffs := compare(status, h, body, tc.Out)
			switch c.verdict {
			case pass:
				for _, d := range diffs {
					t.Error(d)
				}
			case refused:
				if err := c.refusal(status, h, body); err != "" {
					t.Errorf("want Manifold's refusal (%s): %s", c.reason, err)
				}
				if c.typed {
					// The refusal is the missing media type alone: the same
					// request, saying it is JSON, gets the expected answer.
					in := tc.In
					in.Header = maps.Clone(in.Header)
					if in.Header == nil {
						in.Header = map[string]string{}
					}
					in.Header["Content-Type"] = "application/json"
					st, hd, bd := send(t, base, in)
					for _, d := range compare(st, hd, bd, tc.Out) {
						t.Errorf("with Content-Type: application/json: %s", d)
					}
				}
			case fail:
				if len(diffs) == 0 {
					t.Errorf("listed as FAIL (%s) but passes: update cases.go and README.md", c.reason)
				}
				t.Logf("FAIL as recorded (%s): %s", c.reason, strings.Join(diffs, "; "))
			}
		})
	}
	if len(specs) != len(cases) {
		t.Errorf("%d specs, %d cases", len(specs), len(cases))
	}
	t.Logf("PASS %d, REFUSED %d, FAIL %d of %d", counts[pass], counts[refused], counts[fail], len(specs))
}

func startGateway(t *testing.T) string {
	t.Helper()
	key, err := base64.RawURLEncoding.DecodeString(sim2)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COMPAT_BACKEND_URL", krakendBackend(t).URL)
	t.Setenv("COMPAT_DEBUG_URL", debugBackend(t).URL)
	t.Setenv("COMPAT_RSS_URL", rssBackend(t).URL)
	t.Setenv("COMPAT_JWT_SECRET", string(key))
	plan, err := pipeline.LoadDir(filepath.Join("testdata", "pipelines"), pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	base, _ := launchtest.Serve(t, plan, launch.Options{})
	return base
}

func loadSpecs(t *testing.T) []TestCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "specs", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []TestCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tc TestCase
		if err := json.Unmarshal(raw, &tc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		tc.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, tc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// send makes a spec's request as KrakenD's newRequest does, to the
// gateway at base (normalisation 1), without following redirects.
func send(t *testing.T, base string, in Input) (int, http.Header, []byte) {
	t.Helper()
	u, err := url.Parse(in.URL)
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	switch b := in.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		body = bytes.NewReader(raw)
	}
	method := in.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+pathFor(u.Path)+querySuffix(u), body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = u.Host
	for k, v := range in.Header {
		req.Header.Add(k, v)
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

func querySuffix(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// pathFor maps KrakenD's own endpoints to Manifold's: its health check
// /__health is Manifold's /healthz.
func pathFor(p string) string {
	if p == "/__health" {
		return "/healthz"
	}
	return p
}
