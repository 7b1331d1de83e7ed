package openapi

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Grouped writes findings for a terminal: a finding that several files
// share (the same severity and message, as an import's pass-through
// pipelines often do) is one line naming how many files and which, so
// that a run prints each warning once.
func Grouped(findings []Finding) []string {
	type group struct {
		first Finding
		where []string
	}
	var order []string
	groups := map[string]*group{}
	for _, f := range findings {
		k := string(f.Severity) + "\x00" + f.Msg
		g, ok := groups[k]
		if !ok {
			g = &group{first: f}
			groups[k] = g
			order = append(order, k)
		}
		g.where = append(g.where, filepath.Base(f.File)+" ("+f.Key+")")
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g.where) == 1 {
			out = append(out, g.first.String())
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s (%d places: %s)", g.first.Severity, g.first.Msg, len(g.where), firstOf(g.where, 5)))
	}
	return out
}

// firstOf joins at most n items, saying how many more there are.
func firstOf(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
