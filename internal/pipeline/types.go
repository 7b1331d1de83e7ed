package pipeline

import (
	"regexp"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Pipeline is one composite endpoint, as written in its YAML file.
type Pipeline struct {
	Name        string            `yaml:"name"`
	Summary     string            `yaml:"summary"`
	Description string            `yaml:"description"`
	Method      string            `yaml:"method"`
	Path        string            `yaml:"path"`
	Params      map[string]*Param `yaml:"params"`
	Access      *gateway.Access   `yaml:"access"`
	Body        *BodySpec         `yaml:"body"`
	Cache       yamlconf.Duration `yaml:"cache"`
	Timeout     yamlconf.Duration `yaml:"timeout"`
	Steps       map[string]*Step  `yaml:"steps"`
	Output      *Expr             `yaml:"output"`
	Merge       string            `yaml:"merge"` // group (default) | deep
	Truncate    *Expr             `yaml:"truncate"`
	Response    *ResponseSpec     `yaml:"response"`
	// UnknownQuery is what a query parameter not declared in params gets:
	// ignore (the default) or reject (a 400 problem naming it).
	UnknownQuery string `yaml:"unknown_query"`
	// Proxy makes the pipeline a pass-through of its one step: REST
	// callers get the upstream's status and body as they are, undecoded,
	// with the headers the step relays (see Step.RelayHeaders).
	Proxy bool `yaml:"proxy"`
	// ForwardHeaders are the caller's headers every step forwards to its
	// upstream (see forward.go); a step's own list replaces it.
	ForwardHeaders *HeaderList `yaml:"forward_headers"`
	// CacheControl is the Cache-Control header of the pipeline's complete
	// 2xx answers (see cachecontrol.go); none by default.
	CacheControl string `yaml:"cache_control"`
	// MaxCalls bounds the upstream calls of one run, foreach elements
	// included (see fanout.go); default DefaultMaxCalls.
	MaxCalls *int `yaml:"max_calls"`

	// File is the file the pipeline was read from; ParamOrder and StepOrder
	// keep the order in which params and steps were written.
	File       string   `yaml:"-"`
	SHA256     string   `yaml:"-"` // hex SHA-256 of the file, to tell versions apart
	ParamOrder []string `yaml:"-"`
	StepOrder  []string `yaml:"-"`

	node   ast.Node
	source []byte
}

// Param is one request parameter. Its key in params is the name
// expressions see (.params.KEY); Name is the name on the wire, when it
// differs (a header such as X-Request-Id, a query key such as page[size]).
type Param struct {
	In          string   `yaml:"in"`   // path | query | header
	Name        string   `yaml:"name"` // wire name; default: the key
	Type        string   `yaml:"type"` // string | integer | number | boolean | array
	Description string   `yaml:"description"`
	Required    *bool    `yaml:"required"`
	Default     any      `yaml:"default"`
	Example     any      `yaml:"example"`
	Enum        []any    `yaml:"enum"`
	Minimum     *float64 `yaml:"minimum"`
	Maximum     *float64 `yaml:"maximum"`
	MinLength   *int     `yaml:"min_length"`
	MaxLength   *int     `yaml:"max_length"`
	Pattern     string   `yaml:"pattern"`
	// Format is OpenAPI's format of the value ("date", "date-time",
	// "uuid", "int64", ...): an annotation carried into the OpenAPI
	// document and the MCP tool schema, as `manifold import openapi`
	// found it; values are not checked against it (pattern does that).
	Format string `yaml:"format"`
	// AllowSlashes lets a string parameter (in query or header) carry a
	// path tail such as "docs/2024/report" into a step path, where it must
	// be interpolated alone (`/files/${ .params.name }`): its segments are
	// escaped one by one. Without it, a value interpolated into a step
	// path is one segment and a `/` or `\` in it is refused. Dot segments
	// ("." or ".."), empty segments and backslashes are refused either
	// way.
	AllowSlashes bool `yaml:"allow_slashes"`
	// Items, Style, Explode, MinItems and MaxItems describe an array
	// parameter (type: array); see params_array.go.
	Items    *ParamItems `yaml:"items"`
	Style    string      `yaml:"style"`   // query: form (default); header: simple (default)
	Explode  *bool       `yaml:"explode"` // query: true (default, ?a=1&a=2) or false (?a=1,2)
	MinItems *int        `yaml:"min_items"`
	MaxItems *int        `yaml:"max_items"`

	pattern *regexp.Regexp
	item    *Param // an array's items, as a scalar parameter
	// segment is set when a step path interpolates the parameter: its
	// value is then checked to stay inside its path segment (or, with
	// AllowSlashes, inside the path) before anything runs.
	segment bool
}

// BodySpec describes the JSON request body of a non-GET pipeline.
type BodySpec struct {
	Description string         `yaml:"description"`
	Schema      map[string]any `yaml:"schema"`
}

// ResponseSpec describes the answer, for the generated OpenAPI document.
type ResponseSpec struct {
	Description string         `yaml:"description"`
	Schema      map[string]any `yaml:"schema"`
}

// Step is one upstream call (or one per element with foreach).
type Step struct {
	Upstream    string   `yaml:"upstream"`
	Needs       []string `yaml:"needs"`
	When        *Expr    `yaml:"when"`
	Foreach     *Expr    `yaml:"foreach"`
	Concurrency int      `yaml:"concurrency"`
	// MaxItems bounds the elements a foreach calls for (default
	// DefaultMaxItems); over it the step fails before any call, unless
	// TruncateItems takes only the first MaxItems (see fanout.go).
	MaxItems      *int                 `yaml:"max_items"`
	TruncateItems bool                 `yaml:"truncate_items"`
	Method        string               `yaml:"method"`
	Path          *Template            `yaml:"path"`
	Query         *StepQuery           `yaml:"query"`
	Variables     *Template            `yaml:"variables"`
	Headers       map[string]*Template `yaml:"headers"`
	Body          *Template            `yaml:"body"`
	Select        *Expr                `yaml:"select"`
	Optional      bool                 `yaml:"optional"`
	Cache         yamlconf.Duration    `yaml:"cache"`
	Stale         *yamlconf.Duration   `yaml:"stale"`
	// RelayHeaders are the headers of the step's answer passed on to the
	// caller (ETag, Cache-Control, Set-Cookie...). Never hop-by-hop ones.
	RelayHeaders []string `yaml:"relay_headers"`
	// OnStatus maps an upstream's error status (400-599) to what the step
	// gives instead of failing: null (the step's result is null) or the
	// problem the pipeline answers with.
	OnStatus map[int]*StatusProblem `yaml:"on_status"`
	// ForwardHeaders replaces the pipeline's forward_headers for this
	// step (nil: the pipeline's; an empty list: none).
	ForwardHeaders *HeaderList `yaml:"forward_headers"`
}

// StatusProblem is a problem a pipeline answers with, chosen by the
// author: in on_status, or as the object given to jq's error/1.
type StatusProblem struct {
	Status int    `yaml:"status"` // 400-599
	Detail string `yaml:"detail"`
	Title  string `yaml:"title"` // default: the status text
	Type   string `yaml:"type"`  // a slug; default: from the status text
}
