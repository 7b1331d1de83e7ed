package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// marshalCall is what encoding/json writes for a call event.
func marshalCall(t testing.TB, ev Event, d CallData) []byte {
	b, err := json.Marshal(struct {
		Event
		Data CallData `json:"data"`
	}{ev, d})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendCallEventIsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		call *event.Call
	}{
		{"with steps and an error", call(3, "cityDeals")},
		{"failed, no steps", &event.Call{RequestID: "r", Pipeline: "p", Status: 502, Problem: "urn:manifold:problem:upstream-failed"}},
		{"odd strings", &event.Call{RequestID: "\"quoted\"\\ <b>&</b>\n\t\x01", Pipeline: "p", Path: "/caf\u00e9/\u2028/\xff",
			Client: "::1", Missing: []string{"a", "b"}, Duration: 1234567 * time.Nanosecond,
			Steps: []pipeline.StepTrace{{Name: "s", Skipped: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEntry(context.Background(), tc.call, nil)
			cfg := &Config{Subject: "manifold.audit", Source: "http://localhost:9080"}
			it, err := e.encode(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ev := Event{SpecVersion: SpecVersion, ID: e.id, Source: cfg.Source, Type: TypeCall, Time: e.at.UTC(),
				Subject: tc.call.Pipeline, DataContentType: "application/json", DataSchema: DataSchema}
			if want := marshalCall(t, ev, callData(tc.call, e.traceID)); !bytes.Equal(it.data, want) {
				t.Errorf("got\n%s\nwant (encoding/json)\n%s", it.data, want)
			}
		})
	}
}

// FuzzAppendString: every string is written as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\/", "<>&", "\u2028\u2029", "\xff\xfe", "\x00\x1f\x7f", "é漢字🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 0.001, 1.5, 1234.567, 1e-7, 1e21, 3600000} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if v < 0 || v != v || v > 1e300 {
			return
		}
		want, _ := json.Marshal(v)
		if got := appendFloat(nil, v); !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}
