package pipetest

import "strings"

// maxDiffLines bounds the documents Diff compares line by line; longer
// ones are shown whole, one after the other.
const maxDiffLines = 4000

// diffContext is how many equal lines are kept around each change.
const diffContext = 3

// Diff compares two texts line by line (a longest common subsequence) and
// returns the changed lines prefixed "-" (only in want) and "+" (only in
// got), with up to diffContext equal lines around them ("  ").
func Diff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		return "want:\n" + want + "\ngot:\n" + got
	}
	ops := lcsOps(a, b)
	var out []string
	for i, op := range ops {
		if op[0] != ' ' || near(ops, i) {
			out = append(out, op)
		} else if len(out) == 0 || out[len(out)-1] != "  …" {
			out = append(out, "  …")
		}
	}
	return strings.Join(out, "\n")
}

// lcsOps is the edit script from a to b: each line prefixed "  ", "- " or
// "+ ".
func lcsOps(a, b []string) []string {
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var ops []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, "  "+a[i])
			i, j = i+1, j+1
		case i < n && (j == m || l[i+1][j] >= l[i][j+1]):
			ops = append(ops, "- "+a[i])
			i++
		default:
			ops = append(ops, "+ "+b[j])
			j++
		}
	}
	return ops
}

// near reports whether a change is within diffContext lines of ops[i].
func near(ops []string, i int) bool {
	for k := max(0, i-diffContext); k <= min(len(ops)-1, i+diffContext); k++ {
		if ops[k][0] != ' ' {
			return true
		}
	}
	return false
}
