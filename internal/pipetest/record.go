package pipetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"os"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Redacted replaces a secret in a recorded answer.
const Redacted = "REDACTED"

// recordedHeaders are the answer headers kept by --record: those that
// change what the gateway does with an answer.
var recordedHeaders = []string{"Content-Type", "Cache-Control", "Retry-After"}

// recordAnswers replaces t's answers with what the real upstreams said in
// calls, one answer per upstream, method, path and query, with every
// secret (values gateway.yaml took from the environment) replaced by
// Redacted. The file is written by save.
func recordAnswers(f *File, t *Test, calls []*Made, secrets []string) error {
	hide := func(s string) string {
		for _, v := range secrets {
			if v != "" {
				s = strings.ReplaceAll(s, v, Redacted)
			}
		}
		return s
	}
	seen := map[string]bool{}
	var answers []yaml.MapSlice
	for _, m := range calls {
		key := m.Upstream + " " + m.Method + " " + m.Path + "?" + m.Query.Encode()
		if seen[key] || m.Status == 0 {
			continue
		}
		seen[key] = true
		answers = append(answers, recorded(m, hide))
	}
	text, err := yaml.MarshalWithOptions(map[string]any{"answers": answers}, yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	test := fmt.Sprintf("$.tests[%d]", t.index)
	if _, k := yamlconf.Lookup(t.node, "answers"); k != nil {
		p, err := yaml.PathString(test + ".answers")
		if err != nil {
			return err
		}
		list := bytes.TrimPrefix(text, []byte("answers:\n"))
		return p.ReplaceWithReader(f.ast, bytes.NewReader(list))
	}
	p, err := yaml.PathString(test)
	if err != nil {
		return err
	}
	return p.MergeFromReader(f.ast, bytes.NewReader(text))
}

// recorded is one call's answer as a test file entry.
func recorded(m *Made, hide func(string) string) yaml.MapSlice {
	a := yaml.MapSlice{{Key: "upstream", Value: m.Upstream}, {Key: "method", Value: m.Method}, {Key: "path", Value: hide(m.Path)}}
	if len(m.Query) > 0 {
		q := yaml.MapSlice{}
		names := make([]string, 0, len(m.Query))
		for k := range m.Query {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			vs := make([]any, len(m.Query[k]))
			for i, v := range m.Query[k] {
				vs[i] = hide(v)
			}
			var v any = vs
			if len(vs) == 1 {
				v = vs[0]
			}
			q = append(q, yaml.MapItem{Key: k, Value: v})
		}
		a = append(a, yaml.MapItem{Key: "query", Value: q})
	}
	a = append(a, yaml.MapItem{Key: "status", Value: m.Status})
	h := yaml.MapSlice{}
	for _, k := range recordedHeaders {
		if v := m.header.Get(k); v != "" && k != "Content-Type" {
			h = append(h, yaml.MapItem{Key: k, Value: hide(v)})
		}
	}
	if len(h) > 0 {
		a = append(a, yaml.MapItem{Key: "headers", Value: h})
	}
	body := hide(string(m.resp))
	var v any
	mt, _, _ := mime.ParseMediaType(m.header.Get("Content-Type"))
	switch {
	case body == "":
	case (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Unmarshal([]byte(body), &v) == nil:
		a = append(a, yaml.MapItem{Key: "body", Value: v})
	default:
		a = append(a, yaml.MapItem{Key: "text", Value: body})
	}
	return a
}

// save writes the file back with its recorded answers, comments kept.
func (f *File) save() error {
	info, err := os.Stat(f.Path)
	if err != nil {
		return err
	}
	return os.WriteFile(f.Path, []byte(f.ast.String()+"\n"), info.Mode().Perm())
}
