package openapi

import (
	"strconv"
	"strings"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// joinList joins header lines into one comma-separated list without the
// spaces around its commas.
func joinList(lines []string) string {
	var parts []string
	for _, l := range lines {
		for part := range strings.SplitSeq(l, ",") {
			parts = append(parts, strings.TrimSpace(part))
		}
	}
	return strings.Join(parts, ",")
}

// byWire finds a parameter by location and wire name.
func byWire(p *pipeline.Compiled, in, wire string) (string, *pipeline.Param) {
	for key, prm := range p.Params {
		if prm.In == in && (prm.WireName(key) == wire || in == "header" && strings.EqualFold(prm.WireName(key), wire)) {
			return key, prm
		}
	}
	return "", nil
}

// arrayReasons words the violations of array parameters as the pipeline's
// own check does ("element 2: "x" is not an integer"), one per parameter:
// openapi3filter names the whole list, or the JSON Schema keyword.
func arrayReasons(found []violation, p *pipeline.Compiled, get func(in, name string) []string) []violation {
	out := found[:0:0]
	seen := map[string]bool{}
	for _, v := range found {
		_, prm := byWire(p, v.In, v.Name)
		if prm == nil || prm.Type != "array" {
			out = append(out, v)
			continue
		}
		if seen[v.In+":"+v.Name] {
			continue
		}
		seen[v.In+":"+v.Name] = true
		if _, reason := prm.FromStrings(get(v.In, v.Name)); reason != "" && v.Reason != "required" {
			v.Reason = reason
		}
		out = append(out, v)
	}
	return out
}

// toKeys renames the entries of a problem about parameters from their
// wire names to the names JSON callers (GraphQL, MCP) give them.
func toKeys(p *pipeline.Compiled, list []pipeline.ParamProblem) {
	for i, e := range list {
		if key, prm := byWire(p, e.In, e.Name); prm != nil {
			list[i].Name = key
		}
	}
}

// violationsToKeys is toKeys for violations.
func violationsToKeys(p *pipeline.Compiled, found []violation) {
	for i, v := range found {
		if key, prm := byWire(p, v.In, v.Name); prm != nil {
			found[i].Name = key
		}
	}
}

// argTexts is the text a REST request carries for a JSON value of prm:
// for an array, one text per element when exploded, else the elements
// joined with commas; false with a reason when there is none.
func argTexts(prm *pipeline.Param, v any) ([]string, string) {
	list, isList := v.([]any)
	if prm.Type != "array" || !isList {
		typ := prm.Type
		if it := prm.ItemParam(); it != nil {
			typ = it.Type
		}
		texts, ok := argText(v)
		if !ok || !kindFits(typ, v) {
			return nil, typeReason(prm, v)
		}
		return texts, ""
	}
	var texts []string
	for i, e := range list {
		t, ok := argText(e)
		if !ok || len(t) != 1 || !kindFits(prm.ItemParam().Type, e) {
			return nil, typeReason(prm, v)
		}
		if !prm.Exploded() && strings.Contains(t[0], ",") {
			return nil, "element " + strconv.Itoa(i+1) + " holds a comma: the elements are sent comma-separated"
		}
		texts = append(texts, t[0])
	}
	if prm.Exploded() || len(texts) == 0 {
		return texts, ""
	}
	return []string{strings.Join(texts, ",")}, ""
}
