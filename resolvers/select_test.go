package resolvers

import (
	"context"
	"strings"
	"testing"
)

// TestSelectPathsOnly: path expressions compile; anything that can build
// values larger than the answer, or spend more than walking it, is
// refused with SELECT_NOT_ALLOWED before it is compiled.
func TestSelectPathsOnly(t *testing.T) {
	allowed := []string{".", ".a", ".a.b", `.["k"]`, `."k"`, ".[0]", ".[-1]", ".[1:3]", ".[:2]", ".[]", ".a?", ".a[]?",
		".a | .b", ".a, .b", "(.a, .b) | .c", "{a: .x, b}", `{"k": .a.b}`, ".[] | {name, price: .p}"}
	for _, s := range allowed {
		if _, err := compileSelect(&s); err != nil {
			t.Errorf("%s: %v, want it allowed", s, err)
		}
	}
	refused := []string{`"x" * 2000000000 | length`, "..", "length", ".a + .b", "[.a, .b]", ".[] as $x | $x", "def f: .; f",
		`.["a" + "b"]`, ".[.a]", `"k"`, "1", "null", "{(.a): .b}", `{"\(.a)": 1}`, "{$__loc__}", "if . then . else . end",
		"reduce .[] as $x (0; .)", ".a // .b", "try .a", `."\(.a)"`, ".[1.5]", "-.", "recurse", "env", "$ENV", "input"}
	for _, s := range refused {
		_, err := compileSelect(&s)
		if err == nil {
			t.Errorf("%s: allowed, want it refused", s)
			continue
		}
		if code := ErrorCode(err); code != CodeSelectNotAllowed && !strings.Contains(err.Error(), "not a jq expression") {
			t.Errorf("%s: %v (code %q), want %s", s, err, code, CodeSelectNotAllowed)
		}
	}
}

// TestSelectOutputBounded: a path can repeat the answer (.,.,.), so what
// a select picks is measured against max_response as it comes.
func TestSelectOutputBounded(t *testing.T) {
	answer := map[string]any{"items": []any{"aaaaaaaaaa", "bbbbbbbbbb", map[string]any{"n": 1.5, "ok": true, "x": nil}}}
	sel := ".items" + strings.Repeat(", .items", 40)
	code, err := compileSelect(&sel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := narrow(context.Background(), answer, code, 1000); ErrorCode(err) != CodeSelectTooLarge {
		t.Errorf("41 copies of a 50-byte value under 1000 bytes: %v, want %s", err, CodeSelectTooLarge)
	}
	got, err := narrow(context.Background(), answer, code, 10_000)
	if err != nil || len(got.([]any)) != 41 {
		t.Errorf("under 10,000 bytes: %v, %v", got, err)
	}
	// An exponential fan-out stops at the budget, not at the timeout.
	fan := "." + strings.Repeat(" | (., .)", 60)
	code, _ = compileSelect(&fan)
	if _, err := narrow(context.Background(), answer, code, 100_000); ErrorCode(err) != CodeSelectTooLarge {
		t.Errorf("2^60 copies: %v, want %s", err, CodeSelectTooLarge)
	}
}
