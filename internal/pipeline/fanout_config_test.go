package pipeline_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestFanoutBoundsAreChecked: max_items, truncate_items and max_calls
// that can never work are load errors naming the file, line and key (the
// mutation audit found no test of them).
func TestFanoutBoundsAreChecked(t *testing.T) {
	cases := []struct{ name, steps, want string }{
		{"max_items without foreach", "  one: {upstream: api, path: /x, max_items: 3}\n",
			"p.yaml:7:34: steps.one.max_items: max_items bounds a foreach, and this step has none"},
		{"truncate_items without foreach", "  one: {upstream: api, path: /x, truncate_items: true}\n",
			"steps.one.truncate_items: truncate_items bounds a foreach, and this step has none"},
		{"max_items of 0", "  each: {upstream: api, foreach: .params.ids, path: /x, max_items: 0}\n",
			"steps.each.max_items: want a positive integer, got 0"},
		{"max_items over max_calls", "  each: {upstream: api, foreach: .params.ids, path: /x, max_items: 11}\n",
			"steps.each.max_items: 11 is over the pipeline's max_calls of 10: the foreach could never run in full"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"gateway.yaml": {Data: []byte("upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n")},
				"p.yaml":       {Data: []byte("name: p\npath: /p\nmax_calls: 10\nparams:\n  ids: {in: query, type: array}\nsteps:\n" + c.steps)},
			}
			_, err := pipeline.Load(fsys, ".", pipeline.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("load: %v, want %q", err, c.want)
			}
		})
	}
	ok := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n")},
		"p.yaml": {Data: []byte("name: p\npath: /p\nmax_calls: 10\nparams:\n  ids: {in: query, type: array}\nsteps:\n" +
			"  each: {upstream: api, foreach: .params.ids, path: /x, max_items: 10, truncate_items: true}\n")},
	}
	if _, err := pipeline.Load(ok, ".", pipeline.LoadOptions{}); err != nil {
		t.Errorf("max_items equal to max_calls: %v", err)
	}
}
