package graphqlview

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/resolvers"
)

// Response media types (GraphQL over HTTP, section 6.1).
const (
	jsonType = "application/json"
	gqlType  = "application/graphql-response+json"
)

// Codes of requests that are not well-formed GraphQL-over-HTTP requests.
const (
	codeNotAcceptable        = "NOT_ACCEPTABLE"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	codePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
)

// requestError is a request the transport refuses before GraphQL sees it.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) *requestError {
	return &requestError{http.StatusBadRequest, resolvers.CodeBadRequest, msg}
}

// httpTransport serves GraphQL over HTTP: POST with an application/json
// body and GET with URL parameters (queries only), answering in the media
// type the client accepts with the status codes the specification gives
// for it.
type httpTransport struct {
	limit queryLimit
}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	mt, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		writeRequestError(w, jsonType, http.StatusNotAcceptable, codeNotAcceptable,
			"the answer is "+gqlType+" or "+jsonType+": accept one of them")
		return
	}
	params, rerr := readParams(r)
	if rerr == nil {
		rerr = t.limit.check(params.Query)
	}
	if rerr != nil {
		writeRequestError(w, mt, rerr.status, rerr.code, rerr.msg)
		return
	}
	ctx := r.Context()
	params.ReadTime.End = graphql.Now()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		writeResponse(w, mt, requestErrorStatus(mt), &errorsOnly{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	switch op := opCtx.Operation.Operation; {
	case r.Method == http.MethodGet && op != ast.Query:
		// GraphQL over HTTP, section 7.1: mutations only over POST.
		w.Header().Set("Allow", "POST")
		writeRequestError(w, mt, http.StatusMethodNotAllowed, resolvers.CodeMethodNotAllowed,
			"a "+string(op)+" cannot be sent with GET: use POST")
		return
	case op == ast.Subscription:
		writeRequestError(w, mt, requestErrorStatus(mt), resolvers.CodeBadRequest,
			"subscriptions are served over WebSocket (graphql-transport-ws) or SSE (Accept: text/event-stream)")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		return // the client went away
	}
	if resp.Data == nil {
		writeResponse(w, mt, noDataStatus(mt, resp.Errors), &errorsOnly{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	writeResponse(w, mt, http.StatusOK, resp)
}

// requestErrorStatus is the status of an answer to a well-formed request
// that failed before execution (parsing, validation, variables, limits):
// 200 for application/json, 400 for application/graphql-response+json.
func requestErrorStatus(mt string) int {
	if mt == gqlType {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// noDataStatus is the status of an executed operation that produced no
// data entry: a 4xx or 5xx for application/graphql-response+json.
func noDataStatus(mt string, errs gqlerror.List) int {
	if mt != gqlType {
		return http.StatusOK
	}
	for _, e := range errs {
		if e.Extensions["code"] == resolvers.CodeInternal {
			return http.StatusInternalServerError
		}
	}
	return http.StatusBadRequest
}

// negotiate picks the response media type from an Accept header, by the
// q of the most specific range that matches each type. No header, or a
// tie through wildcards, gets application/json, which every client reads;
// application/graphql-response+json when the client names it.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return jsonType, true
	}
	type match struct {
		q           float64
		specificity int // 0: none, 1: */*, 2: application/*, 3: exact
	}
	var gql, js match
	for _, part := range strings.Split(accept, ",") {
		mt, q, ok := mediaRange(part)
		if !ok {
			continue
		}
		spec := map[string]int{"*/*": 1, "application/*": 2}[mt]
		for _, m := range []struct {
			typ string
			dst *match
		}{{gqlType, &gql}, {jsonType, &js}} {
			s := spec
			if mt == m.typ {
				s = 3
			}
			if s > m.dst.specificity {
				*m.dst = match{q, s}
			}
		}
	}
	switch {
	case gql.q <= 0 && js.q <= 0:
		return "", false
	case gql.q > js.q, gql.q == js.q && gql.specificity == 3:
		return gqlType, true
	}
	return jsonType, true
}

// readParams reads the GraphQL-over-HTTP request parameters of a GET or
// POST request, refusing anything that is not a well-formed request.
func readParams(r *http.Request) (*graphql.RawParams, *requestError) {
	p := &graphql.RawParams{Headers: r.Header, ReadTime: graphql.TraceTiming{Start: graphql.Now()}}
	if r.Method == http.MethodGet {
		return p, getParams(r.URL.RawQuery, p)
	}
	body, rerr := readBody(r)
	if rerr != nil {
		return nil, rerr
	}
	return p, postParams(body, p)
}

func getParams(rawQuery string, p *graphql.RawParams) *requestError {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return badRequest("the URL query is malformed")
	}
	p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
	if v := q.Get("variables"); v != "" {
		if err := decodeObject([]byte(v), &p.Variables); err != nil {
			return badRequest("variables must be a JSON object")
		}
	}
	if v := q.Get("extensions"); v != "" {
		if err := decodeObject([]byte(v), &p.Extensions); err != nil {
			return badRequest("extensions must be a JSON object")
		}
	}
	return needQuery(p)
}

// readBody reads a POST body: application/json in UTF-8, within the
// gateway's max_body.
func readBody(r *http.Request) ([]byte, *requestError) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != jsonType {
		return nil, &requestError{http.StatusUnsupportedMediaType, codeUnsupportedMediaType,
			"the request body must be " + jsonType}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, &requestError{http.StatusUnsupportedMediaType, codeUnsupportedMediaType,
			"the request body must be encoded in UTF-8"}
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &requestError{http.StatusRequestEntityTooLarge, codePayloadTooLarge, "the request body is over the gateway's max_body"}
	case err != nil:
		return nil, badRequest("the request body could not be read")
	case len(bytes.TrimSpace(body)) == 0:
		return nil, badRequest("the request body is empty: send {\"query\": ...}")
	}
	return body, nil
}

// postParams decodes a JSON request body, checking each parameter's type
// (GraphQL over HTTP, section 5.2.1).
func postParams(body []byte, p *graphql.RawParams) *requestError {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return badRequest("the request body is not a JSON object")
	}
	if err := optString(m["query"], &p.Query); err != nil {
		return badRequest("query must be a string")
	}
	if err := optString(m["operationName"], &p.OperationName); err != nil {
		return badRequest("operationName must be a string")
	}
	if raw := m["variables"]; isSet(raw) {
		if err := decodeObject(raw, &p.Variables); err != nil {
			return badRequest("variables must be a JSON object")
		}
	}
	if raw := m["extensions"]; isSet(raw) {
		if err := decodeObject(raw, &p.Extensions); err != nil {
			return badRequest("extensions must be a JSON object")
		}
	}
	return needQuery(p)
}

// needQuery requires a query, unless a persisted query stands for it.
func needQuery(p *graphql.RawParams) *requestError {
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return badRequest("the request has no query")
	}
	return nil
}

func isSet(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

var errNotString = errors.New("not a string")

func optString(raw json.RawMessage, dst *string) error {
	if !isSet(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return errNotString
	}
	return nil
}

// decodeObject decodes a JSON object, keeping numbers exact as gqlgen
// expects.
func decodeObject(raw []byte, dst *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errNotString
	}
	*dst = m
	return nil
}

// errorsOnly is a GraphQL response without a data entry: a request that
// failed before execution must not carry one.
type errorsOnly struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func writeRequestError(w http.ResponseWriter, mt string, status int, code, msg string) {
	e := &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code, "status": status}}
	writeResponse(w, mt, status, &errorsOnly{Errors: gqlerror.List{e}})
}

func writeResponse(w http.ResponseWriter, mt string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	h := w.Header()
	h.Set("Content-Type", mt+"; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sseTransport is gqlgen's SSE transport behind the same request checks as
// httpTransport, so that a malformed request gets the same answer. The
// request is read whole under the listener's deadlines; only then is it
// a stream (server.OpenStream), served with the stream's context.
type sseTransport struct {
	srv   *server.Server
	limit queryLimit
}

var _ graphql.Transport = sseTransport{}

func (sseTransport) Supports(r *http.Request) bool { return transport.SSE{}.Supports(r) }

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	body, rerr := readBody(r)
	params := &graphql.RawParams{}
	if rerr == nil {
		rerr = postParams(body, params)
	}
	if rerr == nil {
		rerr = t.limit.check(params.Query)
	}
	if rerr != nil {
		writeRequestError(w, jsonType, rerr.status, rerr.code, rerr.msg)
		return
	}
	stream, err := t.srv.OpenStream(w, r)
	if err != nil {
		writeStreamRefusal(w, err)
		return
	}
	defer stream.Close()
	r = r.WithContext(stream.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	transport.SSE{KeepAlivePingInterval: KeepAlive}.Do(w, r, exec)
}
