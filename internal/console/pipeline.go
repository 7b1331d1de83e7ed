package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// paramField is one param of the Run form.
type paramField struct {
	Name, In, Type, Description string
	Required                    bool
	Enum                        []string
	Value                       string // what the field holds: the last run's, else the example or default
	Default                     string
}

// pipelineData is what the pipeline page shows.
type pipelineData struct {
	P         *pipeline.Compiled
	Source    string
	Graph     stepGraph
	Operation string // the generated OpenAPI operation, JSON
	Params    []paramField
	Consumers []string
	Consumer  string // chosen for the last run
	Body      string
	HasBody   bool
	Result    *runResult
}

func (c *Console) pipeline(w http.ResponseWriter, r *http.Request, se *session) {
	p := c.opts.Server.Runtime().Plan.Pipeline(r.PathValue("name"))
	if p == nil {
		c.fail(w, r, se, http.StatusNotFound, "No pipeline called "+r.PathValue("name")+" is served.")
		return
	}
	c.render(w, r, se, http.StatusOK, "pipeline", page{Title: p.Name, Nav: "overview", Data: c.pipelineData(r, p, nil)})
}

func (c *Console) pipelineData(r *http.Request, p *pipeline.Compiled, res *runResult) pipelineData {
	d := pipelineData{P: p, Source: string(p.Source()), Graph: graphOf(p), Operation: c.operation(p), Result: res,
		HasBody: p.Method != http.MethodGet}
	for name := range c.opts.Server.Runtime().Plan.Gateway.Consumers {
		d.Consumers = append(d.Consumers, name)
	}
	slices.Sort(d.Consumers)
	if res != nil {
		d.Consumer, d.Body = r.PostFormValue("consumer"), r.PostFormValue("body")
	}
	for _, name := range p.ParamOrder {
		prm := p.Params[name]
		f := paramField{Name: name, In: prm.In, Type: prm.Type, Description: prm.Description,
			Required: prm.In == "path" || (prm.Required != nil && *prm.Required), Default: text(prm.Default)}
		for _, e := range prm.Enum {
			f.Enum = append(f.Enum, text(e))
		}
		switch {
		case res != nil:
			f.Value = r.PostFormValue("param." + name)
		case prm.Example != nil:
			f.Value = text(prm.Example)
		default:
			f.Value = f.Default
		}
		d.Params = append(d.Params, f)
	}
	return d
}

// operation is p's operation in the OpenAPI document served, as JSON.
func (c *Console) operation(p *pipeline.Compiled) string {
	if c.opts.Specs == nil {
		return "the OpenAPI document is not available here"
	}
	sp, err := c.opts.Specs.For(c.opts.Server.Runtime().Plan)
	if err != nil {
		return "the OpenAPI document could not be built: " + err.Error()
	}
	item := sp.Doc.Paths.Find(p.Path)
	if item == nil || item.GetOperation(p.Method) == nil {
		return "no operation for " + p.Method + " " + p.Path + " in the OpenAPI document"
	}
	return indentJSON(item.GetOperation(p.Method))
}

// text is a param value as a form field holds it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// indentJSON is v as indented JSON (for <pre>).
func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("(not JSON: %v)", err)
	}
	return string(b)
}
