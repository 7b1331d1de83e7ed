package typecheck

import (
	"encoding/json"
	"testing"
)

// answer is an upstream answer's schema, as Convert gives it.
func answer() Schema {
	item := ObjectOf(map[string]Schema{"id": Of("string"), "price": Of("number"), "tags": ArrayOf(Of("string"))})
	return ObjectOf(map[string]Schema{"markets": ArrayOf(item), "city": Of("string"), "count": Of("integer")})
}

func TestInferForms(t *testing.T) {
	tests := []struct{ name, expr, want string }{
		{"path", ".city", `{"type":"string"}`},
		{"nested path", ".markets[0].price", `{"type":["number","null"]}`},
		{"iterate", ".markets[]", `{"properties":{"id":{"type":"string"},"price":{"type":"number"},"tags":{"items":{"type":"string"},"type":"array"}},"type":"object"}`},
		{"iterate then field", ".markets[].id", `{"type":"string"}`},
		{"index constant", `.["city"]`, `{"type":"string"}`},
		{"object construction", "{c: .city, n: .count}", `{"properties":{"c":{"type":"string"},"n":{"type":"integer"}},"type":"object"}`},
		{"object shorthand", "{city}", `{"properties":{"city":{"type":"string"}},"type":"object"}`},
		{"array construction", "[.markets[].id]", `{"items":{"type":"string"},"type":"array"}`},
		{"map", ".markets | map(.price)", `{"items":{"type":"number"},"type":"array"}`},
		{"select keeps the input", ".markets[] | select(.price > 2) | .id", `{"type":"string"}`},
		{"pipe", ".markets | .[] | .tags", `{"items":{"type":"string"},"type":"array"}`},
		{"alternative of the same type", ".city // \"none\"", `{"type":"string"}`},
		{"alternative of other types is any", ".city // 0", `{}`},
		{"binding", ".city as $c | {c: $c}", `{"properties":{"c":{"type":"string"}},"type":"object"}`},
		{"length", ".markets | length", `{"type":"integer"}`},
		{"comparison", ".count > 1", `{"type":"boolean"}`},
		{"arithmetic", ".count + 1", `{"type":"integer"}`},
		{"object merge", "{a: 1} + {b: .city}", `{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}`},
		{"if branches agree", `if .count > 1 then "many" else "one" end`, `{"type":"string"}`},
		{"join", `[.markets[].id] | join(",")`, `{"type":"string"}`},
		{"group_by", ".markets | group_by(.id)", `{"items":{"items":{"properties":{"id":{"type":"string"},"price":{"type":"number"},"tags":{"items":{"type":"string"},"type":"array"}},"type":"object"},"type":"array"},"type":"array"}`},
		{"from_entries", ".markets | map({key: .id, value: .price}) | from_entries", `{"additionalProperties":{"type":"number"},"type":"object"}`},
		{"unknown function is any", "walk(.)", `{}`},
		{"reduce is any", "reduce .markets[] as $m (0; . + 1)", `{}`},
		{"does not parse", ".[", `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Infer(tc.expr, answer(), nil)
			raw, _ := json.Marshal(got.Schema)
			if string(raw) != tc.want {
				t.Errorf("Infer(%q) = %s, want %s", tc.expr, raw, tc.want)
			}
			if len(got.Warnings) > 0 {
				t.Errorf("Infer(%q) warned %q", tc.expr, got.Warnings)
			}
		})
	}
}

func TestInferWarnsOfMissingFields(t *testing.T) {
	got := Infer("{n: .markets[].nmae, c: .city}", answer(), nil)
	want := `no field "nmae" here (the schema has id, price, tags)`
	if len(got.Warnings) != 1 || got.Warnings[0] != want {
		t.Fatalf("warnings = %q, want [%q]", got.Warnings, want)
	}
	raw, _ := json.Marshal(got.Schema)
	if string(raw) != `{"properties":{"c":{"type":"string"},"n":{}},"type":"object"}` {
		t.Errorf("schema = %s", raw)
	}
}

func TestInferVariables(t *testing.T) {
	got := Infer("$x.a", Any(), map[string]Schema{"x": ObjectOf(map[string]Schema{"a": Of("boolean")})})
	if TypeOf(got.Schema) != "boolean" {
		t.Errorf("$x.a = %v, want boolean", got.Schema)
	}
}

func TestUnion(t *testing.T) {
	a := ObjectOf(map[string]Schema{"x": Of("integer")})
	b := ObjectOf(map[string]Schema{"x": Of("number"), "y": Of("string")})
	raw, _ := json.Marshal(Union(a, b))
	if string(raw) != `{"properties":{"x":{"type":"number"},"y":{"type":["string","null"]}},"type":"object"}` {
		t.Errorf("Union = %s", raw)
	}
	if got := Union(Of("string"), Of("array")); len(got) != 0 {
		t.Errorf("Union of string and array = %v, want {}", got)
	}
}

// TestNullableKeepsNull: a schema widened to null lets null through its
// enum and its list of types too.
func TestNullableKeepsNull(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":"string","enum":["a","b"]}`, `{"enum":["a","b",null],"type":["string","null"]}`},
		{`{"type":["string","integer"]}`, `{"type":["string","integer","null"]}`},
		{`{"type":["string","null"]}`, `{"type":["string","null"]}`},
		{`{"properties":{"a":{}}}`, `{"properties":{"a":{}},"type":["object","null"]}`},
		{`{}`, `{}`},
	} {
		var s Schema
		if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(nullable(s))
		if string(raw) != tc.want {
			t.Errorf("nullable(%s) = %s, want %s", tc.in, raw, tc.want)
		}
	}
}

// TestUnionOneSidedProperty: a property only one side has is null when
// read on a value of the other.
func TestUnionOneSidedProperty(t *testing.T) {
	got := Infer(`if .count > 1 then {a: 1} else {b: "x"} end | .b`, answer(), nil)
	if raw, _ := json.Marshal(got.Schema); string(raw) != `{"type":["string","null"]}` {
		t.Errorf("schema = %s, want string or null", raw)
	}
}

// TestInferBuiltinsNeverNarrower: builtins whose result depends on their
// input's type, or that may give null, are not inferred narrower.
func TestInferBuiltinsNeverNarrower(t *testing.T) {
	in := ObjectOf(map[string]Schema{
		"s": Of("string"), "n": Of("number"), "i": Of("integer"),
		"a": ArrayOf(Of("string")), "aa": ArrayOf(ArrayOf(ArrayOf(Of("integer")))),
	})
	for _, tc := range []struct{ expr, want string }{
		{`.s | index("x")`, `{"type":["integer","null"]}`},
		{`.a | rindex("x")`, `{"type":["integer","null"]}`},
		{`.n | length`, `{"type":"number"}`}, // (-1.5 | length) is 1.5
		{`.s | length`, `{"type":"integer"}`},
		{`.a | keys`, `{"items":{"type":"integer"},"type":"array"}`},
		{`.aa | flatten`, `{"type":"array"}`},        // [[[1]]] | flatten is [1]
		{`.i | ltrimstr("x")`, `{"type":"integer"}`}, // a non-string as it is
		{`.n | frexp`, `{}`},                         // [mantissa, exponent]
		{`.a | add(.[0])`, `{}`},
	} {
		got := Infer(tc.expr, in, nil)
		if raw, _ := json.Marshal(got.Schema); string(raw) != tc.want {
			t.Errorf("Infer(%q) = %s, want %s", tc.expr, raw, tc.want)
		}
	}
}
