package fuzz

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// orderVerdict reads body against the order pipeline's schema, as a JSON
// Schema validator must: accept, refuse, or either (duplicate keys,
// invalid UTF-8, an integer written as 1.0 or 1e1).
func orderVerdict(body []byte) verdict {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return refuse
	}
	if _, err := dec.Token(); err != io.EOF {
		return either // data after the document
	}
	if !utf8.Valid(body) || hasDuplicateKeys(body) {
		return either
	}
	return orderValue(v)
}

func orderValue(v any) verdict {
	o, ok := v.(map[string]any)
	if !ok || !onlyKeys(o, "market_id", "note", "items") {
		return refuse
	}
	id, ok := o["market_id"].(string)
	if !ok || utf8.RuneCountInString(id) < 1 || utf8.RuneCountInString(id) > 40 {
		return refuse
	}
	if note, present := o["note"]; present {
		if _, ok := note.(string); !ok {
			return refuse
		}
	}
	items, ok := o["items"].([]any)
	if !ok || len(items) < 1 || len(items) > 5 {
		return refuse
	}
	out := accept
	for _, it := range items {
		switch itemVerdict(it) {
		case refuse:
			return refuse
		case either:
			out = either
		}
	}
	return out
}

func itemVerdict(v any) verdict {
	it, ok := v.(map[string]any)
	if !ok || !onlyKeys(it, "product_id", "quantity") {
		return refuse
	}
	if _, ok := it["product_id"].(string); !ok {
		return refuse
	}
	q, ok := it["quantity"].(json.Number)
	if !ok {
		return refuse
	}
	f, err := q.Float64()
	if err != nil || f < 1 || f > 99 || f != float64(int64(f)) {
		return refuse
	}
	if strings.ContainsAny(q.String(), ".eE") {
		return either // integral, but not written as an integer
	}
	return accept
}

// onlyKeys reports whether o has its required keys (all but "note") and
// no other.
func onlyKeys(o map[string]any, keys ...string) bool {
	for k := range o {
		if !strings.Contains(" "+strings.Join(keys, " ")+" ", " "+k+" ") {
			return false
		}
	}
	for _, k := range keys {
		if _, ok := o[k]; !ok && k != "note" {
			return false
		}
	}
	return true
}

// hasDuplicateKeys reports whether an object of the document repeats a
// key (validators disagree on which one counts).
func hasDuplicateKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []map[string]bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, map[string]bool{})
				expectKey = true
				continue
			case '[':
				stack = append(stack, nil)
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top := len(stack) - 1; top >= 0 && stack[top] != nil && expectKey {
				if stack[top][tok] {
					return true
				}
				stack[top][tok] = true
				expectKey = false
				continue
			}
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
	}
}

// FuzzBody posts any body to the order pipeline. A body its schema
// refuses (not JSON, a missing or unknown property, a wrong type, out of
// bounds) is a 4xx problem; a valid one runs, never a 5xx; and the body
// the pipeline and its upstream got is the one sent.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		`{"market_id":"ber-01","items":[{"product_id":"p1","quantity":2}]}`,
		`{"market_id":"ber-01","note":"ring twice","items":[{"product_id":"p1","quantity":99},{"product_id":"p2","quantity":1}]}`,
		`{"market_id":"","items":[{"product_id":"p1","quantity":2}]}`,
		`{"market_id":"m","items":[]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":0}]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":2.5}]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":2.0}]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":"2"}]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":2,"x":1}]}`,
		`{"market_id":"m","market_id":"n","items":[{"product_id":"p1","quantity":2}]}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":2}]} {}`,
		`{"market_id":"\u0000\ud800","items":[{"product_id":"p1","quantity":1e1}]}`,
		`[]`, `null`, ``, `{`, `"x"`, `{"market_id":1,"items":null}`,
		`{"market_id":"m","items":[{"product_id":"p1","quantity":99999999999999999999999}]}`,
	} {
		f.Add([]byte(s))
	}
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		a := g.serve(r)
		if a.status >= 500 {
			t.Fatalf("%q: %d: %s", body, a.status, a.body)
		}
		v := orderVerdict(body)
		if a.status != http.StatusOK {
			clientError(t, string(body), a)
			if v == accept {
				t.Fatalf("%q: refused (%d %s), but it is valid", body, a.status, a.body)
			}
			return
		}
		if v == refuse {
			t.Fatalf("%q: accepted, but the schema refuses it: %s", body, a.body)
		}
		var out struct{ Sent, UpstreamBody any }
		if err := json.Unmarshal(a.body, &struct {
			Sent         *any `json:"sent"`
			UpstreamBody *any `json:"upstream_body"`
		}{&out.Sent, &out.UpstreamBody}); err != nil {
			t.Fatalf("%q: 200 with %s: %v", body, a.body, err)
		}
		var want any
		if v == accept {
			_ = json.Unmarshal(body, &want)
			if !reflect.DeepEqual(out.Sent, want) || !reflect.DeepEqual(out.UpstreamBody, want) {
				t.Fatalf("%q: the pipeline got %v and its upstream %v, want %v", body, out.Sent, out.UpstreamBody, want)
			}
		}
	})
}
