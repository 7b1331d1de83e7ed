package connectors

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// Formats of an upstream's answers (Config.Format); the engine always gets
// JSON.
const (
	FormatJSON = "json"
	FormatXML  = "xml"
	FormatText = "text"
)

// maxXMLDepth bounds the nesting of an XML answer.
const maxXMLDepth = 256

// FormatError is an upstream answer that is not in the upstream's format.
type FormatError struct {
	Format string
	Err    error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("upstream answered invalid %s: %v", e.Format, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// accepts is the Accept header of each format.
var accepts = map[string]string{
	FormatXML:  "application/xml, text/xml, application/rss+xml, application/atom+xml, */*;q=0.1",
	FormatText: "text/plain, */*;q=0.1",
}

// toJSON turns a body in format into JSON: text becomes one JSON string,
// XML is mapped by xmlToJSON, JSON is kept as it is.
func toJSON(format string, body []byte) ([]byte, error) {
	switch format {
	case FormatText:
		return json.Marshal(string(body)) // invalid UTF-8 becomes U+FFFD
	case FormatXML:
		v, err := xmlToJSON(body)
		if err != nil {
			return nil, &FormatError{Format: "XML", Err: err}
		}
		return json.Marshal(v)
	}
	return body, nil
}

// xmlNode is an element being read: its attributes, its children and its
// text. (JSON objects are written with sorted keys, so order is not kept.)
type xmlNode struct {
	name   string
	fields map[string]any
	text   strings.Builder
}

func (n *xmlNode) add(key string, v any) {
	old, ok := n.fields[key]
	switch {
	case !ok:
		n.fields[key] = v
	case isList(old):
		n.fields[key] = append(old.([]any), v)
	default:
		n.fields[key] = []any{old, v}
	}
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// value is the element as JSON: its text alone when it has neither
// attributes nor children, else an object with "@attr", children by name
// (an array when repeated) and "#text" when it has text.
func (n *xmlNode) value() any {
	text := strings.TrimSpace(n.text.String())
	if len(n.fields) == 0 {
		return text
	}
	if text != "" {
		n.add("#text", text)
	}
	return n.fields
}

// xmlToJSON reads one XML document into JSON values: {"root": value}.
// Names keep their prefix ("media:content"); comments, processing
// instructions and the DTD are dropped; entities other than XML's five
// and character references are refused (nothing is fetched or expanded).
func xmlToJSON(body []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charset.NewReaderLabel
	var stack []*xmlNode
	var root map[string]any
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil {
				return nil, errors.New("content after the root element")
			}
			if len(stack) == maxXMLDepth {
				return nil, fmt.Errorf("nested deeper than %d elements", maxXMLDepth)
			}
			n := &xmlNode{name: qname(t.Name), fields: map[string]any{}}
			for _, a := range t.Attr {
				n.add("@"+qname(a.Name), a.Value)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 { // RawToken checks no nesting: we do
				return nil, fmt.Errorf("</%s> closes no element", qname(t.Name))
			}
			n := stack[len(stack)-1]
			if n.name != qname(t.Name) {
				return nil, fmt.Errorf("element <%s> closed by </%s>", n.name, qname(t.Name))
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = map[string]any{n.name: n.value()}
			} else {
				stack[len(stack)-1].add(n.name, n.value())
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if root == nil || len(stack) > 0 {
		return nil, errors.New("no complete root element")
	}
	return root, nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
