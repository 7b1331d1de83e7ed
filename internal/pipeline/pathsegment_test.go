package pipeline

import (
	"strings"
	"testing"
)

// segmentPipeline is a pipeline whose step path interpolates params.
func segmentPipeline(params, path string) map[string]string {
	return map[string]string{
		"gateway.yaml": "upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n",
		"p.yaml":       "name: p\npath: /v1/p\nparams:\n" + params + "steps:\n  s: {upstream: api, path: \"" + path + "\"}\n",
	}
}

// TestPathParamsAreChecked: a parameter a step path interpolates refuses
// values that would leave their segment, on every way in (text and JSON),
// and one that only feeds a query does not.
func TestPathParamsAreChecked(t *testing.T) {
	plan := load(t, segmentPipeline("  id: {type: string}\n  q: {type: string}\n", "/items/${ .params.id }"))
	p := plan.Pipeline("p")
	for _, bad := range []string{"a/b", "../../admin", "..", ".", `a\b`, "%2e%2e", "a%2Fb"} {
		if _, reason := p.Params["id"].FromString(bad); reason == "" {
			t.Errorf("id %q accepted", bad)
		}
		if _, reason := p.Params["id"].FromJSON(bad); reason == "" {
			t.Errorf("id %q accepted as JSON", bad)
		}
		if _, reason := p.Params["q"].FromString(bad); reason != "" {
			t.Errorf("q %q refused (%s), yet no path holds it", bad, reason)
		}
	}
	for _, good := range []string{"abc", "a.b", "...", "a b", "Zürich", "100%"} {
		if _, reason := p.Params["id"].FromString(good); reason != "" {
			t.Errorf("id %q refused: %s", good, reason)
		}
	}
}

// TestAllowSlashes: a tail keeps its slashes, escapes each segment, and
// still refuses dot and empty segments and backslashes.
func TestAllowSlashes(t *testing.T) {
	plan := load(t, segmentPipeline("  tail: {type: string, allow_slashes: true}\n", "/docs/${ .params.tail }"))
	p := plan.Pipeline("p")
	path := p.steps[0].path
	got, err := path.renderPath(t.Context(), map[string]any{"params": map[string]any{"tail": "guides/2024/a b"}})
	if err != nil || got != "/docs/guides/2024/a%20b" {
		t.Errorf("renderPath = %q, %v; want /docs/guides/2024/a%%20b", got, err)
	}
	for _, bad := range []string{"a/../b", "./a", "/etc", "a//b", "a/", `a\b`, "a/%2e%2e/b"} {
		if _, reason := p.Params["tail"].FromString(bad); reason == "" {
			t.Errorf("tail %q accepted", bad)
		}
		if _, err := path.renderPath(t.Context(), map[string]any{"params": map[string]any{"tail": bad}}); err == nil {
			t.Errorf("tail %q rendered", bad)
		}
	}
}

// TestAllowSlashesMistakes: allow_slashes is refused where it cannot
// hold: not a string, a path parameter, an interpolation that is not the
// parameter alone, a default that leaves its segment.
func TestAllowSlashesMistakes(t *testing.T) {
	cases := []struct {
		name, params, path, want string
	}{
		{"integer", "  n: {type: integer, allow_slashes: true}\n", "/x/${ .params.n }", "only a string parameter can hold a path tail"},
		{"path parameter", "  n: {in: path, type: string, allow_slashes: true}\n", "/x/${ .params.n }", "a path parameter is one segment"},
		{"not alone", "  n: {type: string, allow_slashes: true}\n", "/x/${ .params.n | ascii_downcase }", "must be interpolated alone"},
		{"bad default", "  n: {type: string, default: \"../x\"}\n", "/x/${ .params.n }", `must not contain "/"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := segmentPipeline(c.params, c.path)
			if c.name == "path parameter" {
				files["p.yaml"] = strings.Replace(files["p.yaml"], "path: /v1/p", "path: /v1/p/{n}", 1)
			}
			_, err := Load(mapFS(files), "", LoadOptions{LookupEnv: lookupTestEnv})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("load error %v, want %q", err, c.want)
			}
		})
	}
}
