package openapi

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Severity of a lint finding.
type Severity string

// Severities: an error keeps the document from being served; a warning
// is printed by `manifold validate` and logged at start.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one result of the GPT Actions lint.
type Finding struct {
	Severity Severity
	File     string // the pipeline file or gateway.yaml it is about
	Key      string // e.g. "server.public_url" or "cityDeals: summary"
	Msg      string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", f.Severity, f.File, f.Key, f.Msg)
}

// Errors returns the findings that are errors.
func Errors(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// linter collects findings about one plan's document.
type linter struct {
	plan     *pipeline.Plan
	gateway  string
	files    map[string]string // operationId -> pipeline file
	findings []Finding
}

func (l *linter) add(sev Severity, file, key, format string, args ...any) {
	l.findings = append(l.findings, Finding{Severity: sev, File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Lint checks doc, the document of plan, against what GPT Actions accept:
// summaries and descriptions of at most 300 characters, parameter
// descriptions of at most 700, unique operationIds, at most one auth type
// per operation (errors); an https public URL outside loopback, a schema
// for every response, a complete plugin section (warnings).
func Lint(plan *pipeline.Plan, doc *openapi3.T) []Finding {
	l := &linter{plan: plan, gateway: filepath.Join(plan.Dir, gateway.File), files: map[string]string{}}
	for _, p := range plan.Pipelines {
		l.files[p.Name] = p.File
	}
	l.servers(doc)
	seen := map[string]string{}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, method := range sortedKeys(item.Operations()) {
			l.operation(doc, method+" "+path, item.GetOperation(method), seen)
		}
	}
	l.plugin()
	slices.SortStableFunc(l.findings, func(a, b Finding) int {
		return strings.Compare(a.File+"\x00"+a.Key, b.File+"\x00"+b.Key)
	})
	return l.findings
}

func (l *linter) servers(doc *openapi3.T) {
	if len(doc.Servers) == 0 {
		l.add(SeverityWarning, l.gateway, "server.public_url", "the document names no server: GPT Actions need one")
		return
	}
	raw := doc.Servers[0].URL
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		l.add(SeverityWarning, l.gateway, "server.public_url", "%q is not a URL", raw)
	case u.Scheme != "https":
		l.add(SeverityWarning, l.gateway, "server.public_url", "%q is not https: GPT Actions call only https servers", raw)
	case isLoopback(u.Hostname()):
		l.add(SeverityWarning, l.gateway, "server.public_url", "%q is a loopback address: assistants cannot reach it", raw)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

func (l *linter) operation(doc *openapi3.T, route string, op *openapi3.Operation, seen map[string]string) {
	id := op.OperationID
	file := l.files[id]
	if file == "" {
		file = l.gateway
	}
	key := func(k string) string { return id + ": " + k }
	switch prev, dup := seen[id]; {
	case id == "":
		l.add(SeverityError, file, route, "operation has no operationId")
	case dup:
		l.add(SeverityError, file, key("operationId"), "operationId %q is also used by %s", id, prev)
	default:
		seen[id] = route
	}
	l.length(file, key("summary"), op.Summary, pipeline.MaxSummary)
	l.length(file, key("description"), op.Description, pipeline.MaxDescription)
	if op.Summary == "" && op.Description == "" {
		l.add(SeverityWarning, file, key("description"), "no summary or description: the assistant cannot tell when to call it")
	}
	for _, ref := range op.Parameters {
		if p := ref.Value; p != nil {
			l.length(file, key("params."+p.Name+".description"), p.Description, pipeline.MaxParamDescription)
		}
	}
	l.auth(doc, file, key("access"), op)
	for _, code := range op.Responses.Keys() {
		r := op.Responses.Value(code).Value
		if r == nil || !strings.HasPrefix(code, "2") {
			continue
		}
		if len(r.Content) == 0 || slices.ContainsFunc(sortedKeys(r.Content), func(ct string) bool { return r.Content[ct].Schema == nil }) {
			l.add(SeverityWarning, file, key("response.schema"), "the %s answer has no schema: the assistant has to guess its shape", code)
		}
	}
}

func (l *linter) length(file, key, text string, limit int) {
	if n := utf8.RuneCountInString(text); n > limit {
		l.add(SeverityError, file, key, "%d characters is too long: GPT Actions accept at most %d", n, limit)
	}
}

// auth checks that an operation asks for one kind of credentials at most,
// and that a protected one can be reached at all.
func (l *linter) auth(doc *openapi3.T, file, key string, op *openapi3.Operation) {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	types := map[string]bool{}
	for _, req := range reqs {
		for name := range req {
			t := "unknown"
			if doc.Components != nil && doc.Components.SecuritySchemes[name] != nil && doc.Components.SecuritySchemes[name].Value != nil {
				s := doc.Components.SecuritySchemes[name].Value
				t = s.Type + " " + s.Scheme + s.In
			}
			types[t] = true
		}
	}
	if len(types) > 1 {
		l.add(SeverityError, file, key, "the operation accepts %d auth types (%s): GPT Actions accept one", len(types), strings.Join(sortedKeys(types), ", "))
	}
	if p := l.plan.Pipeline(op.OperationID); p != nil && !isPublic(p) && len(reqs) == 0 {
		l.add(SeverityWarning, file, key, "the pipeline is not public but gateway.yaml configures no auth: no caller can use it")
	}
}

// plugin warns about manifest fields left to fallbacks.
func (l *linter) plugin() {
	gw := l.plan.Gateway
	pl := gw.Plugin
	for _, f := range []struct{ key, value string }{
		{"name_for_human", pl.NameForHuman},
		{"name_for_model", pl.NameForModel},
		{"description_for_human", pl.DescriptionForHuman},
		{"description_for_model", pl.DescriptionForModel},
		{"contact_email", pl.ContactEmail},
	} {
		if strings.TrimSpace(f.value) == "" {
			l.add(SeverityWarning, l.gateway, "plugin."+f.key, "not set: the plugin manifest needs it")
		}
	}
	// A warning, not an error: a gateway that is not published as a
	// plugin must still start; validate says what a manifest check
	// would refuse.
	if gw.LogoURL() == "" {
		l.add(SeverityWarning, l.gateway, "plugin.logo_url", "the plugin manifest is incomplete: it has no logo_url; set plugin.logo (an image in this directory) or plugin.logo_url")
	}
	if gw.LegalInfoURL() == "" {
		l.add(SeverityWarning, l.gateway, "plugin.legal_info_url", "the plugin manifest is incomplete: it has no legal_info_url; set plugin.legal (a .md or .html file in this directory) or plugin.legal_info_url")
	}
}
