package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendCallEvent appends the JSON of a call event to b. It writes what
// encoding/json writes for Event with CallData (encode_test checks that,
// and fuzzes the strings), without reflection: one event per request is
// the publisher's steady work, and this is several times cheaper.
func appendCallEvent(b []byte, ev *Event, d *CallData) []byte {
	b = appendEnvelope(b, ev)
	b = append(b, `"data":{"request_id":`...)
	b = appendString(b, d.RequestID)
	b = field(b, "trace_id", d.TraceID)
	b = field(b, "surface", d.Surface)
	b = field(b, "pipeline", d.Pipeline)
	b = field(b, "method", d.Method)
	b = field(b, "path", d.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(d.Status), 10)
	if d.Problem != "" {
		b = field(b, "problem", d.Problem)
	}
	b = append(b, `,"duration_ms":`...)
	b = appendFloat(b, d.DurationMS)
	b = field(b, "consumer", d.Consumer)
	b = field(b, "client", d.Client)
	b = field(b, "cache", d.Cache)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, d.Complete)
	b = append(b, `,"missing":`...)
	b = appendStrings(b, d.Missing)
	b = append(b, `,"stale":`...)
	b = appendStrings(b, d.Stale)
	b = append(b, `,"steps":[`...)
	for i := range d.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStep(b, &d.Steps[i])
	}
	return append(b, "]}}"...)
}

// appendEnvelope writes the CloudEvents attributes, up to "data".
func appendEnvelope(b []byte, ev *Event) []byte {
	b = append(b, `{"specversion":`...)
	b = appendString(b, ev.SpecVersion)
	b = field(b, "id", ev.ID)
	b = field(b, "source", ev.Source)
	b = field(b, "type", ev.Type)
	b = append(b, `,"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = field(b, "subject", ev.Subject)
	b = field(b, "datacontenttype", ev.DataContentType)
	b = field(b, "dataschema", ev.DataSchema)
	if ev.Replica != "" {
		b = field(b, "manifoldreplica", ev.Replica)
	}
	if ev.PlanRevision != 0 {
		b = append(b, `,"manifoldplanrevision":`...)
		b = strconv.AppendUint(b, ev.PlanRevision, 10)
	}
	if ev.PlanHash != "" {
		b = field(b, "manifoldplanhash", ev.PlanHash)
	}
	return append(b, ',')
}

func appendStep(b []byte, s *StepData) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, s.Name)
	b = field(b, "upstream", s.Upstream)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendFloat(b, s.DurationMS)
	b = append(b, `,"calls":`...)
	b = strconv.AppendInt(b, int64(s.Calls), 10)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(s.Attempts), 10)
	b = field(b, "cache", s.Cache)
	b = field(b, "breaker", s.Breaker)
	b = append(b, `,"skipped":`...)
	b = strconv.AppendBool(b, s.Skipped)
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, s.Optional)
	if s.Error != "" {
		b = field(b, "error", s.Error)
	}
	return append(b, '}')
}

// field writes ,"key":"value".
func field(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFloat writes a non-negative millisecond value as encoding/json
// does for such values.
func appendFloat(b []byte, v float64) []byte {
	if v == 0 || (v >= 1e-6 && v < 1e21) {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	b = strconv.AppendFloat(b, v, 'e', -1, 64)
	if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 is e-9, as encoding/json writes it
		b = b[:n-1]
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes a JSON string holds as they are: one lookup
// per byte in appendString's loop instead of six comparisons.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString writes s as a JSON string the way encoding/json does: ",
// \ and control characters escaped, <, > and & as \u003c etc., invalid
// UTF-8 as \ufffd, and U+2028, U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
