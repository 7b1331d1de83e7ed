package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// Spec is everything published about one plan, built once per plan: the
// OpenAPI document (the model, its JSON and YAML bytes and their ETags),
// the plugin manifest, the lint findings, and the routes the request
// validator checks against.
type Spec struct {
	Plan     *pipeline.Plan
	Doc      *openapi3.T
	JSON     []byte
	YAML     []byte
	Manifest []byte
	Findings []Finding

	etags   map[string]string // by body kind: json, yaml, manifest
	routes  map[string]*routers.Route
	plain   map[string]*plainParams // by pipeline: the operations openapi3filter can only find missing parameters in
	filter  *openapi3filter.Options
	maxBody int64
}

// Build generates the Spec of plan. It fails if the document cannot be
// generated or if the lint finds errors (warnings are kept in Findings).
func Build(plan *pipeline.Plan) (*Spec, error) {
	doc, err := Generate(plan)
	if err != nil {
		return nil, err
	}
	sp := &Spec{
		Plan:     plan,
		Doc:      doc,
		Manifest: NewManifest(plan).JSON(),
		Findings: Lint(plan, doc),
		routes:   map[string]*routers.Route{},
		plain:    map[string]*plainParams{},
		maxBody:  int64(plan.Gateway.Server.MaxBody),
		filter: &openapi3filter.Options{
			MultiError: true,
			// Defaults are the pipeline's to apply (ParseParams), after.
			SkipSettingDefaults: true,
			// Callers were authenticated and authorized before validation.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
	}
	if errs := Errors(sp.Findings); len(errs) > 0 {
		return nil, &LintError{Findings: errs}
	}
	if sp.JSON, err = Marshal(doc, FormatJSON); err != nil {
		return nil, err
	}
	if sp.YAML, err = Marshal(doc, FormatYAML); err != nil {
		return nil, err
	}
	sp.etags = map[string]string{FormatJSON: etag(sp.JSON), FormatYAML: etag(sp.YAML), "manifest": etag(sp.Manifest)}
	// openapi3filter checks a 3.1 document's values with a JSON Schema
	// 2020-12 validator it compiles on every call (about 100µs a request).
	// Operations whose schemas use nothing that kin-openapi's own
	// validator lacks are checked by it instead, through a view of the
	// same document that says 3.0: same schemas, same answers, no compile.
	view := *doc
	view.OpenAPI = "3.0.3"
	for _, p := range plan.Pipelines {
		item := doc.Paths.Value(p.Path)
		op := item.GetOperation(p.Method)
		if op == nil {
			return nil, fmt.Errorf("openapi: pipeline %s: no operation %s %s in the document", p.Name, p.Method, p.Path)
		}
		spec := &view
		if needs2020(op) {
			spec = doc
		}
		sp.routes[p.Name] = &routers.Route{Spec: spec, Server: doc.Servers[0], Path: p.Path, PathItem: item, Method: p.Method, Operation: op}
		if ps := plainOperation(op); ps != nil {
			sp.plain[p.Name] = ps
		}
	}
	return sp, nil
}

// needs2020 reports whether an operation's request schemas use JSON
// Schema 2020-12 keywords that only kin-openapi's 2020-12 validator
// enforces (the keywords kin-openapi itself looks for before falling back
// to its own validator).
func needs2020(op *openapi3.Operation) bool {
	var refs []*openapi3.SchemaRef
	for _, p := range op.Parameters {
		if p.Value != nil {
			refs = append(refs, p.Value.Schema)
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		for _, mt := range op.RequestBody.Value.Content {
			refs = append(refs, mt.Schema)
		}
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef) bool
	walk = func(ref *openapi3.SchemaRef) bool {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return false
		}
		s := ref.Value
		seen[s] = true
		if s.Const != nil || len(s.PrefixItems) > 0 || s.Contains != nil || len(s.PatternProperties) > 0 ||
			len(s.DependentSchemas) > 0 || s.PropertyNames != nil || s.UnevaluatedItems.Has != nil ||
			s.UnevaluatedItems.Schema != nil || s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil ||
			s.If != nil || s.Then != nil || s.Else != nil || len(s.DependentRequired) > 0 || len(s.Defs) > 0 ||
			s.ContentSchema != nil || s.MinContains != nil || s.MaxContains != nil {
			return true
		}
		return slices.ContainsFunc(subSchemas(s), walk)
	}
	return slices.ContainsFunc(refs, walk)
}

// etag is a strong entity tag from the content's hash.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// LintError is a plan whose document breaks the GPT Actions rules.
type LintError struct {
	Findings []Finding
}

func (e *LintError) Error() string {
	msg := "openapi: the document breaks GPT Actions rules:"
	for _, f := range e.Findings {
		msg += "\n" + f.String()
	}
	return msg
}

// Options configure New.
type Options struct {
	// Logger receives the lint warnings of each plan served; nil: none.
	Logger *slog.Logger
}

// keep is how many plans' Specs are kept: the one served and those that
// requests still in flight after a reload may ask for.
const keep = 4

// Specs builds the Spec of each plan once and keeps the latest few. It is
// the gateway's server.Surface for /openapi.json, /openapi.yaml and
// /.well-known/ai-plugin.json, and its server.RequestValidator. Lookups
// do not lock: the list of Specs is replaced whole.
type Specs struct {
	log    *slog.Logger
	mu     sync.Mutex // serializes builds
	recent atomic.Pointer[[]*Spec]
}

var (
	_ server.Surface          = (*Specs)(nil)
	_ server.RequestValidator = (*Specs)(nil)
)

// New returns an empty Specs.
func New(opts Options) *Specs {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Specs{log: opts.Logger}
}

// For returns the Spec of plan, building it on first use.
func (s *Specs) For(plan *pipeline.Plan) (*Spec, error) {
	if sp := s.find(plan); sp != nil {
		return sp, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp := s.find(plan); sp != nil {
		return sp, nil
	}
	sp, err := Build(plan)
	if err != nil {
		return nil, err
	}
	// Lint warnings are advice for publishing (manifold validate prints
	// them); at start they are logged, not raised as alarms.
	for _, f := range sp.Findings {
		s.log.Info("GPT Actions lint", "file", f.File, "key", f.Key, "warning", f.Msg)
	}
	for _, w := range plan.Warnings {
		s.log.Info("pipeline check", "warning", w.Error())
	}
	var list []*Spec
	if cur := s.recent.Load(); cur != nil {
		list = slices.Clone(*cur)
	}
	list = append([]*Spec{sp}, list...)
	if len(list) > keep {
		list = list[:keep]
	}
	s.recent.Store(&list)
	return sp, nil
}

func (s *Specs) find(plan *pipeline.Plan) *Spec {
	if cur := s.recent.Load(); cur != nil {
		for _, sp := range *cur {
			if sp.Plan == plan {
				return sp
			}
		}
	}
	return nil
}
