package yamlconf

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// valueNode parses `v: text` and returns the node of the value.
func valueNode(t *testing.T, text string) ast.Node {
	t.Helper()
	f, err := parser.ParseBytes([]byte("v: "+text+"\n"), 0)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	v, _ := Lookup(f.Docs[0].Body, "v")
	return v
}

func TestDuration(t *testing.T) {
	tests := []struct {
		text    string
		want    time.Duration
		wantErr string
	}{
		{text: "800ms", want: 800 * time.Millisecond},
		{text: "3s", want: 3 * time.Second},
		{text: "5m", want: 5 * time.Minute},
		{text: "1h30m", want: 90 * time.Minute},
		{text: `"0s"`, want: 0},
		{text: "", want: 0}, // written but empty: not set
		{text: "3", wantErr: `invalid duration "3"`},
		{text: "3 seconds", wantErr: `invalid duration "3 seconds"`},
		{text: "-1s", wantErr: `invalid duration "-1s"`},
		{text: "[1s]", wantErr: "got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalYAML(valueNode(t, tt.text))
			checkScalar(t, err, tt.wantErr, d.D(), tt.want)
		})
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		text    string
		want    Size
		wantErr string
	}{
		{text: "100000", want: 100_000},
		{text: "512B", want: 512},
		{text: "1KB", want: 1000},
		{text: "1KiB", want: 1024},
		{text: "1MiB", want: 1 << 20},
		{text: "1.5MiB", want: 3 << 19},
		{text: "64 MiB", want: 64 << 20},
		{text: "2GB", want: 2_000_000_000},
		{text: "1GiB", want: 1 << 30},
		{text: "", want: 0},
		{text: "1 megabyte", wantErr: `invalid size "1 megabyte"`},
		{text: "1mb", wantErr: `invalid size "1mb"`},
		{text: "-1KB", wantErr: `invalid size "-1KB"`},
		{text: "NaN", wantErr: `invalid size "NaN"`},
		{text: "1e30GB", wantErr: `invalid size "1e30GB"`},
		{text: "{a: 1}", wantErr: "got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var s Size
			err := s.UnmarshalYAML(valueNode(t, tt.text))
			checkScalar(t, err, tt.wantErr, s, tt.want)
		})
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		text    string
		want    Rate
		wantErr string
	}{
		{text: "60/min", want: Rate{Count: 60, Per: time.Minute, Burst: 60}},
		{text: "10/s", want: Rate{Count: 10, Per: time.Second, Burst: 10}},
		{text: "5/sec", want: Rate{Count: 5, Per: time.Second, Burst: 5}},
		{text: "1000/hour", want: Rate{Count: 1000, Per: time.Hour, Burst: 1000}},
		{text: "600/minute burst 50", want: Rate{Count: 600, Per: time.Minute, Burst: 50}},
		{text: "60 per minute", wantErr: `invalid rate "60 per minute"`},
		{text: "60/day", wantErr: `invalid rate "60/day"`},
		{text: "0/min", wantErr: `invalid rate "0/min"`},
		{text: "60/min burst 0", wantErr: `invalid rate "60/min burst 0"`},
		{text: "60/min burst", wantErr: `invalid rate "60/min burst"`},
		{text: "60", wantErr: `invalid rate "60"`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var r Rate
			err := r.UnmarshalYAML(valueNode(t, tt.text))
			if err == nil {
				if got := r.String(); got != tt.text {
					t.Errorf("String() = %q, want it as written, %q", got, tt.text)
				}
				r.source = ""
			}
			checkScalar(t, err, tt.wantErr, r, tt.want)
		})
	}
}

func checkScalar[T any](t *testing.T, err error, wantErr string, got, want T) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
