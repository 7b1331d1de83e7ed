package openapi

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// converter turns one operation into a pipeline, noting what it leaves
// out.
type converter struct {
	route    string
	upstream string
	key      *importedKey // the upstream's credential: never a parameter
	skipped  []string
}

func (c *converter) skip(format string, args ...any) {
	c.skipped = append(c.skipped, c.route+": "+fmt.Sprintf(format, args...))
}

var (
	templateVar = regexp.MustCompile(`\{([^{}]+)\}`)
	// gatewayOwned are paths the gateway serves itself.
	gatewayOwned = []string{"/openapi.yaml", "/openapi.json", "/.well-known", "/graphql", "/mcp", "/metrics", "/healthz", "/readyz"}
)

// pipeline converts the operation method path; ok is false when it has to
// be left out.
func (c *converter) pipeline(method, prefix, path string, item *openapi3.PathItem, op *openapi3.Operation, names map[string]bool) (ImportedPipeline, bool) {
	gwPath := prefix + strings.TrimSuffix(path, "/")
	if gwPath == "" {
		c.skip("the root path would catch every request: pass --path-prefix")
		return ImportedPipeline{}, false
	}
	for _, own := range gatewayOwned {
		if gwPath == own || strings.HasPrefix(gwPath, own+"/") {
			c.skip("%s is served by the gateway itself: pass --path-prefix", own)
			return ImportedPipeline{}, false
		}
	}
	params, ok := c.params(path, item, op)
	if !ok {
		return ImportedPipeline{}, false
	}
	body, ok := c.body(method, op)
	if !ok {
		return ImportedPipeline{}, false
	}
	response, ok := c.response(op)
	if !ok {
		return ImportedPipeline{}, false
	}
	name := uniqueName(nameOf(method, path, op), names)
	stepName := c.upstream
	if reservedStep[stepName] {
		stepName = "call"
	}
	// Path parameters take their pipeline names in both paths.
	stepPath := path
	for _, p := range params {
		if p.in == "path" {
			gwPath = strings.ReplaceAll(gwPath, "{"+p.original+"}", "{"+p.name+"}")
			stepPath = strings.ReplaceAll(stepPath, "{"+p.original+"}", "${ .params."+p.name+" }")
		}
	}
	fields := yaml.MapSlice{{Key: "name", Value: name}}
	fields = appendText(fields, "summary", summaryOf(method, path, op), pipeline.MaxSummary)
	fields = appendText(fields, "description", op.Description, pipeline.MaxDescription)
	fields = append(fields, yaml.MapItem{Key: "method", Value: method}, yaml.MapItem{Key: "path", Value: gwPath})
	if len(params) > 0 {
		ps := yaml.MapSlice{}
		for _, p := range params {
			ps = append(ps, yaml.MapItem{Key: p.name, Value: p.spec})
		}
		fields = append(fields, yaml.MapItem{Key: "params", Value: ps})
	}
	if body != nil {
		fields = append(fields, yaml.MapItem{Key: "body", Value: body})
	}
	fields = append(fields,
		yaml.MapItem{Key: "steps", Value: yaml.MapSlice{{Key: stepName, Value: c.step(method, stepPath, params, body != nil)}}},
		yaml.MapItem{Key: "output", Value: "." + stepName},
	)
	if response != nil {
		fields = append(fields, yaml.MapItem{Key: "response", Value: response})
	}
	return ImportedPipeline{Name: name, File: c.upstream + "-" + kebab(name) + ".yaml", Route: c.route, Fields: fields}, true
}

var reservedStep = map[string]bool{"params": true, "body": true, "consumer": true, "item": true, "index": true}

// step is the one call of a pass-through pipeline: the operation, with
// every parameter passed on under the backend's own name.
func (c *converter) step(method, path string, params []importedParam, body bool) yaml.MapSlice {
	s := yaml.MapSlice{{Key: "upstream", Value: c.upstream}}
	if method != http.MethodGet {
		s = append(s, yaml.MapItem{Key: "method", Value: method})
	}
	s = append(s, yaml.MapItem{Key: "path", Value: path})
	query, headers := yaml.MapSlice{}, yaml.MapSlice{}
	for _, p := range params {
		expr := "${ .params." + p.name + " }"
		if p.split {
			// An exploded list repeats the key: ids=a&ids=b.
			expr = "${ .params." + p.name + ` | if . == null then null else split(",") end }`
		}
		switch p.in {
		case "query":
			query = append(query, yaml.MapItem{Key: p.original, Value: expr})
		case "header":
			headers = append(headers, yaml.MapItem{Key: p.original, Value: expr})
		}
	}
	if len(query) > 0 {
		s = append(s, yaml.MapItem{Key: "query", Value: query})
	}
	if len(headers) > 0 {
		s = append(s, yaml.MapItem{Key: "headers", Value: headers})
	}
	if body {
		s = append(s, yaml.MapItem{Key: "body", Value: "${ .body }"})
	}
	return s
}

// body carries a JSON request body over; ok is false for an operation
// whose body is not JSON.
func (c *converter) body(method string, op *openapi3.Operation) (yaml.MapSlice, bool) {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil, true
	}
	rb := op.RequestBody.Value
	if method == http.MethodGet {
		c.skip("its request body is left out: a GET pipeline takes none")
		return nil, true
	}
	mt, ok := jsonMedia(rb.Content)
	if !ok {
		c.skip("the request body is %s: only JSON bodies are imported", strings.Join(sortedKeys(rb.Content), ", "))
		return nil, false
	}
	if !rb.Required {
		c.skip("the request body is optional in the document; the pipeline requires one")
	}
	out := yaml.MapSlice{}
	out = appendText(out, "description", rb.Description, pipeline.MaxDescription)
	if schema := inlineSchema(mt.Schema); schema != nil {
		out = append(out, yaml.MapItem{Key: "schema", Value: schema})
	}
	return out, true
}

// response carries the success answer's description and schema over; ok
// is false for an operation that does not answer JSON.
func (c *converter) response(op *openapi3.Operation) (yaml.MapSlice, bool) {
	if op.Responses == nil {
		return nil, true
	}
	codes := op.Responses.Keys()
	slices.Sort(codes)
	for _, code := range codes {
		if !strings.HasPrefix(code, "2") {
			continue
		}
		r := op.Responses.Value(code).Value
		if r == nil {
			return nil, true
		}
		out := yaml.MapSlice{}
		if r.Description != nil {
			out = appendText(out, "description", *r.Description, pipeline.MaxDescription)
		}
		if len(r.Content) == 0 {
			return out, true
		}
		mt, ok := jsonMedia(r.Content)
		if !ok {
			c.skip("it answers %s: pipelines answer JSON", strings.Join(sortedKeys(r.Content), ", "))
			return nil, false
		}
		if schema := inlineSchema(mt.Schema); schema != nil {
			out = append(out, yaml.MapItem{Key: "schema", Value: schema})
		}
		return out, true
	}
	return nil, true
}

// jsonMedia finds the JSON media type of a content map.
func jsonMedia(content openapi3.Content) (*openapi3.MediaType, bool) {
	for _, ct := range sortedKeys(content) {
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return content[ct], true
		}
	}
	return nil, false
}

// nameOf is the pipeline name: the operationId as an identifier, or the
// method and path ("getMarketsById").
func nameOf(method, path string, op *openapi3.Operation) string {
	if op.OperationID != "" {
		return camel(op.OperationID)
	}
	name := strings.ToLower(method)
	for seg := range strings.SplitSeq(path, "/") {
		if m := templateVar.FindStringSubmatch(seg); m != nil {
			seg = "by-" + m[1]
		}
		name += "-" + seg
	}
	return camel(name)
}

func uniqueName(name string, taken map[string]bool) string {
	out := name
	for i := 2; taken[out]; i++ {
		out = fmt.Sprintf("%s%d", name, i)
	}
	taken[out] = true
	return out
}

func summaryOf(method, path string, op *openapi3.Operation) string {
	switch {
	case strings.TrimSpace(op.Summary) != "":
		return op.Summary
	case strings.TrimSpace(op.Description) != "":
		return firstSentence(op.Description)
	}
	return method + " " + path
}

// appendText adds a text field trimmed to limit, unless it is empty.
func appendText(m yaml.MapSlice, key, text string, limit int) yaml.MapSlice {
	if t := trim(text, limit); t != "" {
		return append(m, yaml.MapItem{Key: key, Value: t})
	}
	return m
}
