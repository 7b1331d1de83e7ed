package pipeline

import "testing"

// TestStringParamMustBeUTF8: a string parameter's text that is not UTF-8
// (a path segment %AE, a query value, a Latin-1 header) is refused with a
// reason, since every JSON surface would show it mangled; valid text is
// kept byte for byte. Found by test/fuzz FuzzPath.
func TestStringParamMustBeUTF8(t *testing.T) {
	p := &Param{In: "query", Type: "string"}
	if v, reason := p.FromString("\xae"); v != nil || reason != "must be UTF-8 text" {
		t.Errorf(`FromString("\xae") = %v, %q; want refused as not UTF-8`, v, reason)
	}
	if v, reason := p.FromString("Zürich \u00a0✓"); v != "Zürich \u00a0✓" || reason != "" {
		t.Errorf("FromString(valid text) = %v, %q; want it unchanged", v, reason)
	}
}
