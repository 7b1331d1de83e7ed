package pipeline

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// rawJSON is a step's answer kept as the upstream's bytes: valid UTF-8
// JSON that nothing in the run reads, only the default merge writes out.
type rawJSON []byte

// markRaw finds the steps whose answers go into the answer whole and
// nowhere else: the pipeline merges by step name (no output, no deep
// merge, no truncate, not a proxy), the step selects nothing and is no
// foreach, and no step needs it. Those answers are never decoded: the
// merge copies them, compacted, which costs a fraction of decoding and
// encoding them again.
func (cp *Compiled) markRaw() {
	if cp.output != nil || cp.truncate != nil || cp.Proxy || cp.Merge == "deep" {
		return
	}
	needed := map[string]bool{}
	for _, st := range cp.steps {
		for _, n := range st.sees {
			needed[n] = true
		}
	}
	anyRaw := false
	for _, st := range cp.steps {
		st.raw = st.sel == nil && st.foreach == nil && !needed[st.name]
		anyRaw = anyRaw || st.raw
	}
	if !anyRaw {
		return
	}
	cp.groupOrder = make([]*step, len(cp.steps))
	copy(cp.groupOrder, cp.steps)
	slices.SortFunc(cp.groupOrder, func(a, b *step) int { return strings.Compare(a.name, b.name) })
	for _, st := range cp.groupOrder {
		key, _ := json.Marshal(st.name)
		st.groupKey = append(key, ':')
	}
}

// rawBody is an upstream's JSON answer for a raw step: the bytes
// themselves when they are valid JSON in UTF-8, or else the decoded value
// (json.Unmarshal replaces invalid UTF-8, as the decoding path always has).
func rawBody(body []byte) (any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	if json.Valid(body) && utf8.Valid(body) {
		return rawJSON(body), nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// group encodes the default merge, {"step": answer, ...} in the order of
// the step names, as gojq would encode the map, with raw answers copied.
// It reports whether any answer was raw: the caller then has no decoded
// value of the whole.
func (r *run) group() (body []byte, raw bool, err error) {
	size := 2
	for _, st := range r.p.groupOrder {
		size += len(st.groupKey) + 1
		if b, ok := r.results[st.index].(rawJSON); ok {
			size += len(b)
		} else {
			size += 64
		}
	}
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteByte('{')
	for i, st := range r.p.groupOrder {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(st.groupKey)
		switch v := r.results[st.index].(type) {
		case rawJSON:
			raw = true
			if err := json.Compact(&buf, v); err != nil {
				return nil, false, err
			}
		default:
			b, err := encodeJSON(v)
			if err != nil {
				return nil, false, err
			}
			buf.Write(b)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), raw, nil
}

// groupData is the default merge as a value, for a run whose answers were
// all decoded.
func (r *run) groupData() map[string]any {
	group := make(map[string]any, len(r.results))
	for i, st := range r.p.steps {
		group[st.name] = r.results[i]
	}
	return group
}

// Value returns the answer as JSON values: Data, or, when the answer was
// assembled from upstream bytes that were never decoded, JSON decoded.
func (r *Result) Value() (any, error) {
	if r.Data != nil || r.JSON == nil {
		return r.Data, nil
	}
	var v any
	err := json.Unmarshal(r.JSON, &v)
	return v, err
}
