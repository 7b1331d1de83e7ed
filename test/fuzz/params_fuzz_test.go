package fuzz

import (
	"bufio"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// verdict is what an independent reading of a parameter value says the
// gateway must do with it: accept it, refuse it, or either (a spelling
// such as "+5" or "TRUE" that a parser may or may not take).
type verdict int

const (
	accept verdict = iota
	refuse
	either
)

var (
	canonicalInt   = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,17})$`)
	canonicalFloat = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,15})?([eE][-+]?[0-9]{1,2})?$`)
)

// searchParams are the values of the search pipeline's parameters; an
// empty one is not sent.
type searchParams struct{ q, n, x, flag, lang, tag string }

// verdicts reads each sent value as the pipeline declares it.
func (p searchParams) verdicts() map[string]verdict {
	v := map[string]verdict{}
	if p.q != "" {
		v["q"] = accept
		if utf8.RuneCountInString(p.q) > 100 {
			v["q"] = refuse
		}
		if !utf8.ValidString(p.q) {
			v["q"] = refuse // JSON cannot carry it
		}
	}
	if p.n != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(p.n), 10, 64)
		switch {
		case err != nil || n < 1 || n > 1000:
			v["n"] = refuse
		case canonicalInt.MatchString(p.n):
			v["n"] = accept
		default:
			v["n"] = either
		}
	}
	if p.x != "" {
		f, err := strconv.ParseFloat(strings.TrimSpace(p.x), 64)
		switch {
		case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
			v["x"] = refuse
		case canonicalFloat.MatchString(p.x):
			v["x"] = accept
		default:
			v["x"] = either
		}
	}
	if p.flag != "" {
		_, err := strconv.ParseBool(p.flag)
		switch {
		case err != nil:
			v["flag"] = refuse
		case p.flag == "true" || p.flag == "false":
			v["flag"] = accept
		default:
			v["flag"] = either
		}
	}
	if p.lang != "" {
		v["lang"] = refuse
		if p.lang == "en" || p.lang == "de" {
			v["lang"] = accept
		}
	}
	if tag := strings.Trim(p.tag, " \t"); tag != "" {
		v["tag"] = accept
		if !utf8.ValidString(tag) {
			v["tag"] = refuse
		} else if strings.ContainsFunc(tag, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			v["tag"] = either // control characters: net/http's business
		}
	}
	return v
}

// request is the search request as it would arrive on the wire; nil if
// net/http would not read it (a header value with a line break).
func (p searchParams) request() *http.Request {
	q := url.Values{}
	for name, v := range map[string]string{"q": p.q, "n": p.n, "x": p.x, "flag": p.flag, "lang": p.lang} {
		if v != "" {
			q.Set(name, v)
		}
	}
	raw := "GET /v1/search?" + q.Encode() + " HTTP/1.1\r\nHost: gw.test\r\n"
	if p.tag != "" {
		raw += "X-Tag: " + p.tag + "\r\n"
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil || strings.ContainsAny(p.tag, "\r\n") {
		return nil
	}
	return r
}

// FuzzParams sends the search pipeline's query and header parameters.
// Any value the pipeline's declaration refuses (not an integer, out of
// range, not in the enum, too long) is a 400 problem naming it; a value
// it accepts in its plain spelling runs the pipeline, never a 5xx; and
// an accepted value is the typed value the caller meant, strings
// unchanged, and reaches the upstream query unchanged.
func FuzzParams(f *testing.F) {
	f.Add("milk", "5", "1.5", "true", "en", "t1")
	f.Add("", "", "", "", "", "")
	f.Add("a&b=c d%2F", "1000", "-0.0", "false", "de", " spaced ")
	f.Add(strings.Repeat("é", 101), "0", "NaN", "yes", "EN", "x")
	f.Add("ok", "+5", "1e308", "1", "en", "\x7f")
	f.Add("ok", " 7 ", "0x1p3", "TRUE", "fr", "a\tb")
	f.Add("\xff\xfe", "99999999999999999999", "Inf", "t", "de", "ü")
	f.Add("q", "1.0", "1_000", "F", "en", "")
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, q, n, x, flag, lang, tag string) {
		p := searchParams{q, n, x, flag, lang, tag}
		r := p.request()
		if r == nil {
			return
		}
		a := g.serve(r)
		if a.status >= 500 {
			t.Fatalf("%+v: %d: %s", p, a.status, a.body)
		}
		verdicts := p.verdicts()
		if a.status != http.StatusOK {
			pr := clientError(t, r.URL.String(), a)
			for _, e := range pr.Errors {
				name := e.Name
				if strings.EqualFold(name, "X-Tag") {
					name = "tag" // the header's wire name
				}
				if v, sent := verdicts[name]; !sent || v == accept {
					t.Fatalf("%+v: %s refused (%s), but it is valid or was not sent", p, e.Name, e.Reason)
				}
			}
			if len(pr.Errors) == 0 {
				t.Fatalf("%+v: %d without the parameter it blames: %s", p, a.status, a.body)
			}
			return
		}
		for name, v := range verdicts {
			if v == refuse {
				t.Fatalf("%+v: 200, but %s must be refused: %s", p, name, a.body)
			}
		}
		checkParams(t, p, r.Header.Get("X-Tag"), a.body)
	})
}

// checkParams checks the parameters the pipeline ran with, and the query
// its upstream got, against what the caller sent.
func checkParams(t *testing.T, p searchParams, tag string, body []byte) {
	t.Helper()
	var out struct {
		Raw           map[string]any      `json:"params"`
		UpstreamQuery map[string][]string `json:"upstream_query"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%+v: 200 with %s: %v", p, body, err)
	}
	want := map[string]any{}
	if p.q != "" && utf8.ValidString(p.q) {
		want["q"] = p.q
		if got := out.UpstreamQuery["q"]; len(got) != 1 || got[0] != p.q {
			t.Fatalf("%+v: upstream got q=%q, want %q", p, got, p.q)
		}
	}
	if p.n != "" {
		n, _ := strconv.ParseInt(strings.TrimSpace(p.n), 10, 64)
		want["n"] = float64(n)
	}
	if p.x != "" {
		want["x"], _ = strconv.ParseFloat(strings.TrimSpace(p.x), 64)
	}
	if p.flag != "" {
		want["flag"], _ = strconv.ParseBool(p.flag)
	}
	if p.lang != "" {
		want["lang"] = p.lang
	}
	if tag != "" && utf8.ValidString(tag) {
		want["tag"] = tag
	}
	for name, w := range want {
		if got := out.Raw[name]; got != w {
			t.Fatalf("%+v: the pipeline ran with %s = %#v, want %#v (%s)", p, name, got, w, body)
		}
	}
}
