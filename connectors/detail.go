package connectors

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a StatusError's Detail.
const (
	detailRead = 8 << 10 // bytes of an error body read to find the detail
	detailMax  = 200     // bytes of detail kept
)

// MaxErrorBody bounds the error answer kept in a StatusError's Body (a
// longer one is not kept).
const MaxErrorBody = 64 << 10

// statusError reads an error answer: its body, when it is JSON of at most
// MaxErrorBody bytes, and its detail.
func statusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody+1))
	e := &StatusError{Status: resp.StatusCode, Detail: errorDetail(resp.Header, b[:min(len(b), detailRead)])}
	e.ContentType = resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(e.ContentType)
	switch {
	case len(b) > MaxErrorBody:
	case isJSON(mt) && json.Valid(b):
		e.Body = b
	case strings.HasPrefix(mt, "text/") && utf8.Valid(b):
		e.Text = string(b)
	}
	return e
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// errorDetail finds a short, safe description in an error answer's body: a
// problem document's detail or title (RFC 9457), a JSON "error" (when it
// is a string or holds a "message"), "message" or "reason" (Open-Meteo's
// {"error": true, "reason": "..."}), a GraphQL errors[0].message, or the
// start of a plain text body. HTML and other bodies give no detail.
func errorDetail(h http.Header, b []byte) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case isJSON(mt):
		return clip(jsonDetail(b))
	case strings.HasPrefix(mt, "text/") && mt != "text/html":
		return clip(string(b))
	}
	return ""
}

// jsonDetail picks the first descriptive member of a JSON error body.
func jsonDetail(b []byte) string {
	var doc struct {
		Detail, Error, Message, Reason, Title json.RawMessage
		Errors                                []struct{ Message json.RawMessage }
	}
	if json.Unmarshal(b, &doc) != nil {
		return ""
	}
	candidates := []json.RawMessage{doc.Detail, doc.Error, doc.Message, doc.Reason}
	if len(doc.Errors) > 0 {
		candidates = append(candidates, doc.Errors[0].Message)
	}
	for _, raw := range append(candidates, doc.Title) {
		if s := jsonString(raw); s != "" {
			return s
		}
	}
	return ""
}

// jsonString decodes a JSON string, or the "message" of an object such as
// {"error": {"message": "..."}}.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct{ Message string }
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Message
	}
	return ""
}

// clip makes s one line of valid UTF-8 of at most detailMax bytes.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) <= detailMax {
		return s
	}
	cut := detailMax
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
