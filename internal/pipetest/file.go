// Package pipetest runs pipeline tests (`manifold test`): *.test.yaml
// files beside the pipelines give requests, canned upstream answers and
// expectations. A test's request is served in process by the real gateway
// (parameter and body validation, authentication, rate limits, the engine,
// breakers, retries and caches); only the exchange with each upstream is
// faked, by an http.RoundTripper below the resilience stack.
package pipetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// File is one *.test.yaml file.
type File struct {
	Tests []*Test `yaml:"tests"`

	Path   string    `yaml:"-"` // as given to LoadFile
	source []byte    // the file's bytes, for --record
	ast    *ast.File // the parsed file, for --record
}

// Test is one test: a request, the canned answers of the upstreams and
// what the answer must be.
type Test struct {
	Name    string    `yaml:"name"`
	Request Request   `yaml:"request"`
	Answers []*Answer `yaml:"answers"`
	Expect  Expect    `yaml:"expect"`

	File  string   `yaml:"-"`
	Line  int      `yaml:"-"` // of the test's first key
	index int      // in File.Tests
	node  ast.Node // the test's mapping
}

// Request is the call a test makes, through the REST surface.
type Request struct {
	// Pipeline names the pipeline: its method and path are used, and
	// Params go where the pipeline declares them (path, query, header).
	Pipeline string `yaml:"pipeline"`
	// Method and Path call a route as a client would (instead of
	// Pipeline); Query adds raw query parameters either way.
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Params  map[string]any    `yaml:"params"`
	Query   map[string]any    `yaml:"query"`
	Headers map[string]string `yaml:"headers"`
	Body    any               `yaml:"body"`
	// Consumer acts as a caller without its credential: a consumer of
	// gateway.yaml by name, or {name, roles}.
	Consumer *Consumer `yaml:"consumer"`
}

// Answer is a canned upstream answer. It matches the calls of its Step
// (any upstream) or of its Upstream, narrowed by Method, Path and Query
// when given; the first answer that matches a call answers it.
type Answer struct {
	Step     string            `yaml:"step"`
	Upstream string            `yaml:"upstream"`
	Method   string            `yaml:"method"`
	Path     string            `yaml:"path"`
	Query    map[string]any    `yaml:"query"`
	Status   int               `yaml:"status"` // default 200
	Headers  map[string]string `yaml:"headers"`
	Body     any               `yaml:"body"` // JSON
	Text     *string           `yaml:"text"` // raw text instead of JSON
	Delay    yamlconf.Duration `yaml:"delay"`
	// Fail is "connection" (the connection is refused) or "timeout" (no
	// answer until the call's deadline).
	Fail string `yaml:"fail"`

	line    int
	hasBody bool
}

// Expect is what a test's answer must be. Each part is checked when
// given; Status defaults to 200.
type Expect struct {
	Status int `yaml:"status"`
	// Headers must have these values; null means the header is absent.
	Headers map[string]*string `yaml:"headers"`
	// JQ expressions over the answer's JSON must each give true.
	JQ []string `yaml:"jq"`
	// Body must equal the answer's JSON.
	Body any `yaml:"body"`
	// Calls must each have been made (in any order); an empty list says
	// that no upstream was called.
	Calls []*Call `yaml:"calls"`

	hasBody, hasCalls bool
	lines             map[string]int // expectation key -> line
	jqLines, callLine []int
}

// Call is an upstream call a test expects. Given fields must match: the
// path exactly (below the upstream's base path), the query parameters
// listed (others may be present), the JSON body exactly.
type Call struct {
	Upstream string         `yaml:"upstream"`
	Step     string         `yaml:"step"`
	Method   string         `yaml:"method"`
	Path     string         `yaml:"path"`
	Query    map[string]any `yaml:"query"`
	Body     any            `yaml:"body"`

	hasBody bool
}

// Consumer is `consumer:` in a request: a name, or {name, roles}.
type Consumer struct {
	Name  string
	Roles []string
	// Inline is true for {name, roles}; a bare name must be a consumer of
	// gateway.yaml, whose roles are used.
	Inline bool
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (c *Consumer) UnmarshalYAML(n ast.Node) error {
	if s, ok := n.(*ast.StringNode); ok {
		*c = Consumer{Name: s.Value}
		return nil
	}
	var v struct {
		Name  string   `yaml:"name"`
		Roles []string `yaml:"roles"`
	}
	if err := yaml.NodeToValue(n, &v, yaml.DisallowUnknownField()); err != nil || v.Name == "" {
		return errors.New("want a consumer name or {name: NAME, roles: [ROLE, ...]}")
	}
	*c = Consumer{Name: v.Name, Roles: v.Roles, Inline: true}
	return nil
}

// LoadFile reads and checks one test file. Every problem is returned as
// yamlconf.Errors, located at file:line:column.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, source: data}
	var errs yamlconf.Errors
	bad := func(at ast.Node, key, msg string) { errs = append(errs, errorAt(path, at, key, msg)) }
	af, err := parser.ParseBytes(data, parser.ParseComments)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, yamlconf.Errors{errorAtToken(path, ye.GetToken(), "", "invalid YAML: "+ye.GetMessage())}
		}
		return nil, fmt.Errorf("%s: invalid YAML: %w", path, err)
	}
	if len(af.Docs) != 1 || af.Docs[0].Body == nil {
		return nil, yamlconf.Errors{{File: path, Msg: "want one YAML document with a `tests:` list"}}
	}
	f.ast = af
	body := af.Docs[0].Body
	yamlconf.CheckKeys(body, reflect.TypeOf(f), bad)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := yaml.NodeToValue(body, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.locate(body, bad)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return f, nil
}

// FindFiles lists the test files of dir (not its subdirectories), sorted.
func FindFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && pipeline.IsTestFile(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// normalize turns a value decoded from YAML into its JSON form (numbers
// as float64, maps with string keys), so that it compares with answers.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}
