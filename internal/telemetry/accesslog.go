package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/server"
)

// AccessLog is where access lines are written directly, bypassing slog's
// generic record handling (several times cheaper for the one line every
// request writes): the log's own writer and format. The lines have the
// keys, order and format of the slog JSON or text handler on the same
// writer (time, level, msg, then the request's attributes and the trace
// ids), so a log reader cannot tell them from the other lines.
type AccessLog struct {
	W    io.Writer
	JSON bool // false: slog's text format (key=value)
}

// lineBufs are reused access-line buffers.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAccess writes the access line of x to a.W.
func (a *AccessLog) writeAccess(ctx context.Context, level slog.Level, x *server.Exchange) {
	bp := lineBufs.Get().(*[]byte)
	b := (*bp)[:0]
	kv := a.text
	if a.JSON {
		b = append(b, '{')
		kv = a.json
	}
	var tmp [64]byte
	b = a.plain(b, "time", time.Now().AppendFormat(tmp[:0], time.RFC3339Nano), true)
	b = kv(b, "level", level.String(), false)
	b = kv(b, "msg", "request", false)
	b = kv(b, "method", x.Method, false)
	b = kv(b, "path", x.Path, false)
	b = kv(b, "route", routePath(x.Route), false)
	b = a.plain(b, "status", strconv.AppendInt(tmp[:0], int64(x.Status), 10), false)
	b = a.plain(b, "duration_ms", strconv.AppendFloat(tmp[:0], float64(x.Duration.Microseconds())/1000, 'g', -1, 64), false)
	b = a.plain(b, "bytes", strconv.AppendInt(tmp[:0], x.Bytes, 10), false)
	b = kv(b, "request_id", x.RequestID, false)
	b = kv(b, "client", x.Client, false)
	if len(x.Pipelines) == 1 {
		b = kv(b, "pipeline", x.Pipelines[0], false)
	} else if len(x.Pipelines) > 1 {
		b = kv(b, "pipeline", joinComma(x.Pipelines), false)
	}
	if x.Consumer != "" {
		b = kv(b, "consumer", x.Consumer, false)
	}
	if x.Cache != "" {
		b = kv(b, "cache", x.Cache, false)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		tid, sid := sc.TraceID(), sc.SpanID()
		b = a.plain(b, "trace_id", appendHex(tmp[:0], tid[:]), true)
		b = a.plain(b, "span_id", appendHex(tmp[:0], sid[:]), true)
	}
	if a.JSON {
		b = append(b, '}')
	}
	b = append(b, '\n')
	_, _ = a.W.Write(b)
	*bp = b
	lineBufs.Put(bp)
}

// plain appends a value that needs neither escaping nor quoting in text
// (a number, a timestamp, hex); quoted says it is a string in JSON.
func (a *AccessLog) plain(b []byte, key string, value []byte, quoted bool) []byte {
	if !a.JSON {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, key...)
		b = append(b, '=')
		return append(b, value...)
	}
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	if !quoted {
		return append(b, value...)
	}
	b = append(b, '"')
	b = append(b, value...)
	return append(b, '"')
}

// json appends "key":value (raw: a number, written as it is).
func (a *AccessLog) json(b []byte, key, value string, raw bool) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	if raw {
		return append(b, value...)
	}
	return appendJSONString(b, value)
}

// text appends key=value, quoted as slog's text handler quotes it.
func (a *AccessLog) text(b []byte, key, value string, _ bool) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	b = append(b, key...)
	b = append(b, '=')
	if needsQuoting(value) {
		return strconv.AppendQuote(b, value)
	}
	return append(b, value...)
}

// needsQuoting is slog's rule for text values: empty, or holding a
// space, '=', '"', a control or non-printable character.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || r < 0x21 || r == utf8.RuneError || r == 0x7f {
			return true
		}
	}
	return false
}

// appendJSONString writes s as a JSON string: ", \ and control
// characters escaped, invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func appendHex(b, id []byte) []byte {
	for _, c := range id {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return b
}

func joinComma(ss []string) string {
	n := len(ss) - 1
	for _, s := range ss {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return string(b)
}
