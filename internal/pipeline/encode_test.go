package pipeline

import (
	"encoding/json"
	"testing"
	"time"
)

func TestEncodeJSON(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"object keys sorted", map[string]any{"b": 1, "a": []any{true, nil, "x"}}, `{"a":[true,null,"x"],"b":1}`},
		{"no HTML escaping", map[string]any{"name": "Salt & Pepper <500g>"}, `{"name":"Salt & Pepper <500g>"}`},
		{"whole floats", []any{1.0, 2.5, float64(1 << 53)}, `[1,2.5,9007199254740992]`},
		{"unicode kept", "Natives Olivenöl", `"Natives Olivenöl"`},
		{"other types fall back", map[string]any{"t": time.Duration(5)}, `{"t":5}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := encodeJSON(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("encodeJSON = %s, want %s", got, c.want)
			}
			if !json.Valid(got) {
				t.Errorf("%s is not valid JSON", got)
			}
		})
	}
}
