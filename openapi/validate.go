package openapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// ValidateRequest checks a REST request against the operation of pipeline
// p in the document of rt's plan (server.RequestValidator), before any
// backend is called. Every violation is listed in one problem: a 400
// whose `errors` holds {in, name, reason} for each, or a 415 when the
// only problem is the body's media type.
func (s *Specs) ValidateRequest(r *http.Request, q url.Values, rt *server.Runtime, p *pipeline.Compiled) error {
	sp, err := s.For(rt.Plan)
	if err != nil {
		return err
	}
	return sp.Check(r, q, p)
}

// Check validates r, whose query is q (nil: parsed from r), against p's
// operation with openapi3filter. A body it reads is put back into r for
// the handler; q is not changed (nor by openapi3filter, which sets no
// defaults: SkipSettingDefaults).
func (sp *Spec) Check(r *http.Request, q url.Values, p *pipeline.Compiled) error {
	route := sp.routes[p.Name]
	if route == nil {
		return nil // not a pipeline of this plan: the router answered already
	}
	if q == nil {
		q = r.URL.Query()
	}
	found, err := sp.schemaViolations(r, p, route, q)
	if err != nil {
		return err
	}
	found = insertUnknown(found, unknownQuery(q, p))
	if len(found) == 0 {
		return nil
	}
	return invalid(found)
}

// schemaViolations lists what openapi3filter finds wrong with r. An
// operation with only plain string parameters and no body is checked by
// openapi3filter only when a required parameter is missing: any other
// request passes its check, which would cost a few µs for nothing (most
// of a request answered from the cache).
func (sp *Spec) schemaViolations(r *http.Request, p *pipeline.Compiled, route *routers.Route, q url.Values) ([]violation, error) {
	if ps := sp.plain[p.Name]; ps != nil && ps.present(r, q) {
		return nil, nil
	}
	return sp.filterViolations(r, p, route, q)
}

// filterViolations lists what openapi3filter finds wrong with r.
func (sp *Spec) filterViolations(r *http.Request, p *pipeline.Compiled, route *routers.Route, q url.Values) ([]violation, error) {
	vr, vq, body, err := sp.requestCopy(r, p, route.Operation.RequestBody != nil, q)
	if err != nil {
		return nil, err
	}
	path := map[string]string{}
	for name, prm := range p.Params {
		if prm.In == "path" {
			path[name] = r.PathValue(name)
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: path, QueryParams: vq, Route: route, Options: sp.filter}
	raw := func(in, name string) string {
		switch in {
		case "path":
			return r.PathValue(name)
		case "query":
			return q.Get(name)
		case "header":
			return r.Header.Get(name)
		}
		return string(body)
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return arrayReasons(violations(err, raw), p, requestParams(r)), nil
	}
	return nil, nil
}

// requestCopy returns the request openapi3filter reads, and its query
// (q, r's): query parameters and headers sent empty are left out (the
// pipeline treats them as absent, so that their default applies), and the
// body, read once within the gateway's limit, is given to both the copy
// and r.
func (sp *Spec) requestCopy(r *http.Request, p *pipeline.Compiled, hasBody bool, q url.Values) (*http.Request, url.Values, []byte, error) {
	vr := r.WithContext(r.Context())
	u := *r.URL
	vr.URL = &u
	if hasEmpty(q) {
		kept := make(url.Values, len(q))
		for k, vs := range q {
			if len(vs) > 0 && vs[0] != "" {
				kept[k] = vs
			}
		}
		q, u.RawQuery = kept, kept.Encode()
	}
	cloned := false
	for key, prm := range p.Params {
		name := prm.WireName(key)
		vals := r.Header.Values(name)
		if prm.In != "header" || len(vals) == 0 {
			continue
		}
		if !cloned {
			vr.Header, cloned = r.Header.Clone(), true
		}
		if vals[0] == "" {
			vr.Header.Del(name)
		} else if prm.Type == "array" {
			// Header lines are one comma-separated list (RFC 9110, 5.3),
			// with optional spaces around the commas.
			vr.Header.Set(name, joinList(vals))
		}
	}
	// The gateway reads any JSON media type (application/problem+json,
	// application/merge-patch+json) as JSON; so does the check.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt != "application/json" && strings.HasSuffix(mt, "+json") {
		if !cloned {
			vr.Header, cloned = r.Header.Clone(), true
		}
		vr.Header.Set("Content-Type", "application/json")
	}
	if !hasBody || r.Body == nil || r.Body == http.NoBody {
		vr.Body = http.NoBody
		return vr, q, nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, sp.maxBody+1))
	_ = r.Body.Close()
	if err != nil {
		return nil, nil, nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Detail: "the request body could not be read"}
	}
	if int64(len(data)) > sp.maxBody {
		return nil, nil, nil, &problem.BodyError{Status: http.StatusRequestEntityTooLarge, Slug: "body-too-large",
			Detail: "the request body is over the limit of " + strconv.FormatInt(sp.maxBody, 10) + " bytes"}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	vr.Body = io.NopCloser(bytes.NewReader(data))
	vr.GetBody = nil
	vr.ContentLength = int64(len(data))
	return vr, q, data, nil
}

func hasEmpty(q url.Values) bool {
	for _, vs := range q {
		if len(vs) == 0 || vs[0] == "" {
			return true
		}
	}
	return false
}

// unknownQuery lists the query parameters p does not declare, when p
// rejects them (unknown_query: reject).
func unknownQuery(q url.Values, p *pipeline.Compiled) []violation {
	if p.UnknownQuery != pipeline.UnknownQueryReject {
		return nil
	}
	var out []violation
	declared := map[string]bool{}
	for key, prm := range p.Params {
		if prm.In == "query" {
			declared[prm.WireName(key)] = true
		}
	}
	for _, name := range sortedKeys(q) {
		if !declared[name] {
			out = append(out, violation{pipeline.ParamProblem{In: "query", Name: name, Reason: "unknown parameter"}, http.StatusBadRequest})
		}
	}
	return out
}

// insertUnknown puts the unknown parameters after the declared ones and
// before the body's problems.
func insertUnknown(found, unknown []violation) []violation {
	i := len(found)
	for j, v := range found {
		if v.In == "body" || (v.In == "header" && v.status == http.StatusUnsupportedMediaType) {
			i = j
			break
		}
	}
	out := make([]violation, 0, len(found)+len(unknown))
	out = append(out, found[:i]...)
	out = append(out, unknown...)
	return append(out, found[i:]...)
}

// invalid is the problem listing every violation.
func invalid(found []violation) error {
	status := http.StatusUnsupportedMediaType
	entries := make([]pipeline.ParamProblem, len(found))
	for i, v := range found {
		entries[i] = v.ParamProblem
		if v.status != http.StatusUnsupportedMediaType {
			status = http.StatusBadRequest
		}
	}
	var pr *problem.Problem
	switch {
	case status == http.StatusUnsupportedMediaType:
		pr = problem.New("unsupported-media-type", status, "the request body must be application/json")
	case !slices.ContainsFunc(found, func(v violation) bool { return v.In == "body" }):
		pr = problem.New("bad-request", status, "the request has invalid parameters")
	case !slices.ContainsFunc(found, func(v violation) bool { return v.In != "body" }):
		pr = problem.New("bad-request", status, "the request body is invalid")
	default:
		pr = problem.New("bad-request", status, "the request has invalid parameters and an invalid body")
	}
	pr.Errors = entries
	return &problem.Error{P: pr, Err: errInvalid}
}

// errInvalid is the cause of every validation problem, for logs.
var errInvalid = errors.New("request does not match the OpenAPI document")
