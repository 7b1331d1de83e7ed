package connectors

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestXMLToJSON(t *testing.T) {
	tests := []struct{ name, xml, want string }{
		{"text only", `<title>Hello</title>`, `{"title":"Hello"}`},
		{"empty element", `<a><b/></a>`, `{"a":{"b":""}}`},
		{"attributes", `<item id="7" lang="de"/>`, `{"item":{"@id":"7","@lang":"de"}}`},
		{"attributes and text", `<price currency="EUR"> 1.99 </price>`, `{"price":{"#text":"1.99","@currency":"EUR"}}`},
		{"repeated children become an array", `<list><i>a</i><x>1</x><i>b</i><i>c</i></list>`, `{"list":{"i":["a","b","c"],"x":"1"}}`},
		{"single child stays single", `<list><i>a</i></list>`, `{"list":{"i":"a"}}`},
		{"mixed content keeps own text", `<p>Hi <b>there</b></p>`, `{"p":{"#text":"Hi","b":"there"}}`},
		{"prefixes kept, xmlns as attributes", `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:m="urn:m"><m:x>1</m:x></feed>`,
			`{"feed":{"@xmlns":"http://www.w3.org/2005/Atom","@xmlns:m":"urn:m","m:x":"1"}}`},
		{"CDATA and entities", `<d><![CDATA[<b>x</b>]]> &amp; &#233;</d>`, `{"d":"\u003cb\u003ex\u003c/b\u003e \u0026 é"}`},
		{"declaration, comments and PIs dropped", `<?xml version="1.0"?><!-- c --><?pi x?><r>1</r>`, `{"r":"1"}`},
		{"ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xe9</r>", `{"r":"café"}`},
		{"values stay strings", `<n><v>42</v><v>true</v></n>`, `{"n":{"v":["42","true"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toJSON(FormatXML, []byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestXMLRefused(t *testing.T) {
	deep := strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1)
	for name, doc := range map[string]string{
		"not XML":                  `{"json":true}`,
		"unclosed":                 `<a><b></a>`,
		"stray end":                `</a>`,
		"two roots":                `<a/><b/>`,
		"unknown entity":           `<a>&nbsp;</a>`,
		"entity declared in a DTD": `<!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>`,
		"too deep":                 deep,
		"empty":                    ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := toJSON(FormatXML, []byte(doc))
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Format != "XML" {
				t.Errorf("error %v: want a FormatError", err)
			}
		})
	}
}

func TestFormatText(t *testing.T) {
	got, err := toJSON(FormatText, []byte("line 1\n\"quoted\" \xff"))
	if err != nil || string(got) != `"line 1\n\"quoted\" \ufffd"` {
		t.Errorf("got %s, %v", got, err)
	}
}

// TestFormatThroughUpstream: the format's Accept header goes out, the
// answer comes back as JSON, and an invalid body is the upstream's
// answer for the breaker, never retried.
func TestFormatThroughUpstream(t *testing.T) {
	calls := 0
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/rss+xml")
		if r.URL.Path == "/bad" {
			_, _ = w.Write([]byte("<rss>"))
			return
		}
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/xml") {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		_, _ = w.Write([]byte(`<rss version="2.0"><channel><title>News</title><item><title>A</title></item><item><title>B</title></item></channel></rss>`))
	})
	cfg := config(t, srv.URL)
	cfg.Format, cfg.Retries = FormatXML, 2
	u := newUpstream(t, cfg, Options{})
	resp, err := u.Do(context.Background(), &Request{Path: "/feed"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rss":{"@version":"2.0","channel":{"item":[{"title":"A"},{"title":"B"}],"title":"News"}}}`
	if string(resp.Body) != want {
		t.Errorf("body %s\nwant %s", resp.Body, want)
	}
	calls = 0
	for range 6 {
		_, err = u.Do(context.Background(), &Request{Path: "/bad"})
	}
	var fe *FormatError
	if !errors.As(err, &fe) || calls != 6 || u.BreakerState() != "closed" || ErrorType(err) != "format" {
		t.Errorf("error %v after %d calls, breaker %s: want a FormatError, no retry, breaker closed", err, calls, u.BreakerState())
	}
}
