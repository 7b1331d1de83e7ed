package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/itchyny/gojq"
)

// exprAt is where an expression is written: its file, key and position
// (the YAML value's), for the errors it fails with at run time.
type exprAt struct {
	file, key string
	line, col int
}

// nodeAt is the position of a YAML node, file and key left to fill.
func nodeAt(n ast.Node) exprAt {
	if n == nil {
		return exprAt{}
	}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return exprAt{line: tok.Position.Line, col: tok.Position.Column}
	}
	return exprAt{}
}

// locate sets the file and key of every expression of a template.
func locate(t tmpl, file, key string) {
	switch v := t.(type) {
	case exprT:
		v.p.at.file, v.p.at.key = file, key
	case concatT:
		for _, p := range v.progs {
			p.at.file, p.at.key = file, key
		}
	case *pathT:
		if v != nil {
			locate(v.concatT, file, key)
		}
	case objectT:
		for i, val := range v.vals {
			locate(val, file, key+"."+v.keys[i])
		}
	case arrayT:
		for i, e := range v {
			locate(e, file, fmt.Sprintf("%s[%d]", key, i))
		}
	}
}

// errorf is a run-time error of the program that is not jq's own (a
// foreach that gave no array).
func (p *program) errorf(format string, args ...any) *ExprError {
	return p.exprError(fmt.Errorf(format, args...))
}

func (p *program) exprError(err error) *ExprError {
	return &ExprError{Expr: p.src, Err: err, Key: p.at.key, File: p.at.file, Line: p.at.line, Column: p.at.col}
}

// failed makes jq's run-time error an ExprError. For a multi-line
// expression it finds the line that failed: gojq does not tell where,
// so the prefixes ending at each top-level pipe are run on the same
// input, and the first that fails ends the stage that did.
func (p *program) failed(ctx context.Context, input any, err error) *ExprError {
	e := p.exprError(err)
	if p.prefix || !strings.Contains(strings.TrimSpace(p.src), "\n") {
		return e
	}
	start := 0
	for _, cut := range topLevelPipes(p.src) {
		prefix, perr := compileQuiet(p.src[:cut])
		if perr != nil {
			continue // a cut inside `E as $x | ...`
		}
		if _, rerr := prefix.eval(ctx, input); rerr != nil {
			break
		}
		start = cut + 1
	}
	e.SrcLine, e.Quote = lineOf(p.src, start)
	return e
}

// compileQuiet compiles a prefix of an expression, without the checks.
func compileQuiet(src string) (*program, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, err
	}
	code, err := gojq.Compile(q, noEnviron)
	if err != nil {
		return nil, err
	}
	return &program{src: src, code: code, prefix: true}, nil
}

// topLevelPipes lists the offsets of the `|` of src outside brackets and
// strings (not `|=`).
func topLevelPipes(src string) []int {
	var cuts []int
	depth := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '"':
			j, err := scanString(src, i+1)
			if err != nil {
				return cuts
			}
			i = j
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case '|':
			if depth == 0 && (i+1 == len(src) || src[i+1] != '=') {
				cuts = append(cuts, i)
			}
		}
	}
	return cuts
}

// lineOf is the 1-based number of the line of src where the text from
// off starts (its first non-blank character), and that line.
func lineOf(src string, off int) (int, string) {
	for off < len(src) && (src[off] == ' ' || src[off] == '\t' || src[off] == '\n' || src[off] == '\r') {
		off++
	}
	off = min(off, len(src))
	n := strings.Count(src[:off], "\n") + 1
	begin := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src) - off
	}
	return n, strings.TrimRight(src[begin:off+end], " \t\r")
}
