package pipeline

import (
	"fmt"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline/typecheck"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// InferredSchema is the JSON Schema of the pipeline's answer, inferred
// from its upstreams' OpenAPI documents and its expressions: {} (any)
// where it cannot be told, and when no step calls an upstream with a
// document (its shape would say nothing of the content).
func (c *Compiled) InferredSchema() map[string]any {
	if c.inferred == nil || !c.typed {
		return typecheck.Any()
	}
	return c.inferred
}

// typecheck checks the steps of cp against their upstreams' documents and
// infers the schema of every step's result and of the answer. Calls that
// a document rules out are errors; references to fields a schema lacks
// and query parameters it does not list are warnings.
func (c pctx) typecheck(cp *Compiled, gw *gateway.Config) {
	results := map[string]typecheck.Schema{}
	for _, st := range cp.steps {
		results[st.name] = c.stepType(cp, st, gw, results)
		cp.typed = cp.typed || c.l.docs[st.upstream] != nil
	}
	in := c.inputType(cp.Pipeline, cp.optional)
	for _, st := range cp.steps {
		in["properties"].(map[string]any)[st.name] = results[st.name]
	}
	var out typecheck.Schema
	switch {
	case cp.Proxy && len(cp.steps) == 1:
		out = results[cp.steps[0].name]
	case cp.output != nil:
		out = c.infer([]string{"output"}, cp.output, in, nil)
	case cp.Merge == "deep":
		out = typecheck.Any()
	default:
		out = typecheck.ObjectOf(results)
	}
	if cp.truncate != nil {
		out = typecheck.Union(out, c.infer([]string{"truncate"}, cp.truncate, out, nil))
	}
	cp.inferred = out
}

// infer is the schema of prog's value (its outputs collapsed as eval
// does: none is null, several an array); its warnings are reported at keys.
func (c pctx) infer(keys []string, prog *program, in typecheck.Schema, vars map[string]typecheck.Schema) typecheck.Schema {
	res := typecheck.Infer(prog.src, in, vars)
	for _, w := range res.Warnings {
		c.warnf(keys, "%s", w)
	}
	return typecheck.Collapsed(res.Schema, res.One)
}

// warnf reports a warning located as errorf would locate an error.
func (c pctx) warnf(keys []string, format string, args ...any) {
	c.errorf(keys, format, args...)
	last := len(c.l.Errs) - 1
	c.l.warns = append(c.l.warns, c.l.Errs[last])
	c.l.Errs = c.l.Errs[:last]
}

// inputType is the schema of what every expression of p sees. It is
// open: unknown names there are the static checks' business.
func (c pctx) inputType(p *Pipeline, optional bool) typecheck.Schema {
	params := map[string]typecheck.Schema{}
	for name, prm := range p.Params {
		if prm != nil {
			params[name] = paramType(prm)
			if !prm.IsRequired() && prm.Default == nil { // absent: .params.NAME is null
				params[name] = typecheck.Union(params[name], typecheck.Of("null"))
			}
		}
	}
	body := typecheck.Any()
	if p.Body != nil && len(p.Body.Schema) > 0 {
		body = p.Body.Schema
	}
	props := map[string]typecheck.Schema{"params": typecheck.ObjectOf(params), "body": body, "consumer": typecheck.Any()}
	if optional {
		props["errors"] = typecheck.Of("object")
	}
	in := typecheck.ObjectOf(props)
	in["additionalProperties"] = true
	return in
}

func paramType(p *Param) typecheck.Schema {
	switch {
	case p.Type == "array" && p.item != nil:
		return typecheck.ArrayOf(paramType(p.item))
	case p.Type == "":
		return typecheck.Of("string")
	}
	return typecheck.Of(p.Type)
}

// stepType checks step st against its upstream's document, if it has
// one, and returns the schema of its result.
func (c pctx) stepType(cp *Compiled, st *step, gw *gateway.Config, results map[string]typecheck.Schema) typecheck.Schema {
	key := func(k ...string) []string { return append([]string{"steps", st.name}, k...) }
	in := c.inputType(cp.Pipeline, st.seesOptional)
	for _, n := range st.sees {
		in["properties"].(map[string]any)[n] = results[n]
	}
	if st.foreach != nil {
		items := typecheck.Items(c.infer(key("foreach"), st.foreach, in, nil))
		in["properties"].(map[string]any)["item"] = items
		in["properties"].(map[string]any)["index"] = typecheck.Of("integer")
	}
	d := c.l.docs[st.upstream]
	u := gw.Upstream(st.upstream)
	if d == nil || u == nil || st.graphql || st.cfg.Path == nil {
		return typecheck.Any()
	}
	text, _ := yamlconf.ScalarText(st.cfg.Path.node)
	op, err := d.Find(st.method, text)
	if err != nil {
		c.errorf(key("path"), "%v", err)
		return typecheck.Any()
	}
	c.checkStepQuery(key, st, op, u, d.Name, in)
	c.checkBody(key, st, op, in, d.Name)
	res := op.Response()
	if st.sel != nil {
		res = c.infer(key("select"), st.sel, res, nil)
	}
	if st.foreach != nil {
		res = typecheck.ArrayOf(res)
	}
	if st.when != nil || st.cfg.Optional || len(st.cfg.OnStatus) > 0 {
		res = typecheck.Union(res, typecheck.Of("null"))
	}
	return res
}

// checkStepQuery: a required query parameter missing is an error, one the
// operation does not list a warning (APIs often take more than they
// document).
func (c pctx) checkStepQuery(key func(...string) []string, st *step, op *typecheck.Op, u *gateway.Upstream, file string, in typecheck.Schema) {
	params := op.Params("query")
	given := map[string]bool{}
	for _, q := range st.query {
		given[q.name] = true
		c.tmplType(key("query", q.name), q.t, in) // for its warnings
	}
	for q := range u.Query {
		given[q] = true
	}
	if a := u.Auth; a != nil && a.Type == "api_key" && a.In == "query" {
		given[a.Name] = true
	}
	for _, name := range sortedKeys(params) {
		if params[name] && !given[name] {
			c.errorf(key("query"), "query parameter %q is required by %s %s in %s", name, op.Method, op.Path, file)
		}
	}
	for _, q := range st.query {
		if _, ok := params[q.name]; !ok {
			c.warnf(key("query", q.name), "query parameter %q is not one of %s %s in %s (it takes %s)",
				q.name, op.Method, op.Path, file, orNone(sortedKeys(params)))
		}
	}
}

// checkBody compares the properties of the body the step sends with the
// operation's request body: a required one missing is an error, one it
// does not list a warning.
func (c pctx) checkBody(key func(...string) []string, st *step, op *typecheck.Op, in typecheck.Schema, file string) {
	want, required := op.Body()
	if st.body == nil {
		if required {
			c.errorf(key(), "%s %s in %s requires a body", op.Method, op.Path, file)
		}
		return
	}
	got := c.tmplType(key("body"), st.body, in)
	if want == nil {
		c.warnf(key("body"), "%s %s in %s takes no body", op.Method, op.Path, file)
		return
	}
	if typecheck.TypeOf(want) != "object" || typecheck.Props(got) == nil || typecheck.TypeOf(got) != "object" {
		return
	}
	have := typecheck.Props(got)
	reqs, _ := want["required"].([]any)
	for _, r := range reqs {
		if name, _ := r.(string); have[name] == nil {
			c.errorf(key("body"), "body property %q is required by %s %s in %s", name, op.Method, op.Path, file)
		}
	}
	if props := typecheck.Props(want); props != nil {
		for _, name := range sortedKeys(have) {
			if props[name] == nil {
				c.warnf(key("body"), "body property %q is not one of %s %s in %s (it takes %s)",
					name, op.Method, op.Path, file, strings.Join(sortedKeys(props), ", "))
			}
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// tmplType is the schema of what a template renders for input in.
func (c pctx) tmplType(keys []string, t tmpl, in typecheck.Schema) typecheck.Schema {
	switch v := t.(type) {
	case exprT:
		return c.infer(keys, v.p, in, nil)
	case concatT:
		for _, p := range v.progs {
			c.infer(keys, p, in, nil)
		}
		return typecheck.Of("string")
	case objectT:
		props := map[string]typecheck.Schema{}
		for i, k := range v.keys {
			props[k] = c.tmplType(append(keys, k), v.vals[i], in)
		}
		return typecheck.ObjectOf(props)
	case arrayT:
		var items typecheck.Schema
		for i, e := range v {
			items = typecheck.Union(items, c.tmplType(append(keys, fmt.Sprint(i)), e, in))
		}
		return typecheck.ArrayOf(items)
	case constT:
		return valueType(v.v)
	}
	return typecheck.Any()
}

// valueType is the schema of a constant from YAML.
func valueType(v any) typecheck.Schema {
	switch x := v.(type) {
	case nil:
		return typecheck.Of("null")
	case string:
		return typecheck.Of("string")
	case bool:
		return typecheck.Of("boolean")
	case int, int64, uint64:
		return typecheck.Of("integer")
	case float64:
		return typecheck.Of("number")
	case map[string]any:
		props := map[string]typecheck.Schema{}
		for k, e := range x {
			props[k] = valueType(e)
		}
		return typecheck.ObjectOf(props)
	case []any:
		var items typecheck.Schema
		for _, e := range x {
			items = typecheck.Union(items, valueType(e))
		}
		return typecheck.ArrayOf(items)
	}
	return typecheck.Any()
}
