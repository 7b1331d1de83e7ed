package yamlconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Reader reads the YAML files of one directory and collects every error
// found in them, so that one load reports all of them, not just the first.
type Reader struct {
	FS   fs.FS
	Dir  string // the directory's name, joined to file names in errors
	Errs Errors
}

// Doc is one parsed YAML file.
type Doc struct {
	File   string // display name: Dir joined with the file name
	Body   ast.Node
	Source []byte
}

// Display is the name of file name in errors: joined to the directory.
func (r *Reader) Display(name string) string {
	if r.Dir == "" {
		return name
	}
	return filepath.Join(r.Dir, filepath.FromSlash(name))
}

// Errorf records an error located at node n (the file alone if n is nil).
func (r *Reader) Errorf(file string, n ast.Node, key, format string, args ...any) {
	e := &Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if tok := n.GetToken(); tok != nil && tok.Position != nil {
			e.Line, e.Column = tok.Position.Line, tok.Position.Column
		}
	}
	r.Errs = append(r.Errs, e)
}

// Parse reads and parses one file; on failure it records the error and
// returns nil.
func (r *Reader) Parse(name string) *Doc {
	file := r.Display(name)
	data, err := fs.ReadFile(r.FS, name)
	if err != nil {
		r.Errorf(file, nil, "", "cannot read: %v", err)
		return nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			r.Errs = append(r.Errs, Located(file, ye.GetToken(), "invalid YAML: "+ye.GetMessage()))
		} else {
			r.Errorf(file, nil, "", "invalid YAML: %v", err)
		}
		return nil
	}
	d := &Doc{File: file, Source: data}
	if len(f.Docs) > 1 {
		e := Located(file, f.Docs[1].Start, fmt.Sprintf("one YAML document per file, found %d: remove the --- separators", len(f.Docs)))
		if f.Docs[1].Start == nil {
			e = Located(file, f.Docs[1].Body.GetToken(), e.Msg)
		}
		r.Errs = append(r.Errs, e)
		return nil
	}
	if len(f.Docs) == 1 {
		d.Body = f.Docs[0].Body
	}
	if d.Body == nil {
		r.Errorf(file, nil, "", "file is empty: write a pipeline in it or remove it")
		return nil
	}
	if _, ok := Unwrap(d.Body).(*ast.MappingNode); !ok && Entries(d.Body) == nil {
		r.Errorf(file, d.Body, "", "want a mapping of keys at the top level, got %s", Describe(d.Body))
		return nil
	}
	return d
}

// Decode checks the keys of d against v's type, then decodes it. It
// reports false if anything was wrong.
func (r *Reader) Decode(d *Doc, v any) bool {
	before := len(r.Errs)
	checkKeys(d.Body, reflect.TypeOf(v), "", func(at ast.Node, key, msg string) {
		r.Errorf(d.File, at, key, "%s", msg)
	})
	if len(r.Errs) > before {
		return false
	}
	if err := yaml.NodeToValue(d.Body, v); err != nil {
		before := len(r.Errs)
		r.DecodeError(d.File, err)
		if e := r.Errs[before]; e.Key == "" && e.Line > 0 {
			e.Key = keyAt(d.Body, e.Line, e.Column)
		}
		return false
	}
	return true
}

// keyAt returns the key path of the value at line:column, or "".
func keyAt(root ast.Node, line, column int) string {
	key := ""
	WalkValues(root, "", func(n ast.Node, path string) {
		if tok := n.GetToken(); tok != nil && tok.Position != nil && tok.Position.Line == line && tok.Position.Column == column {
			key = path
		}
	})
	return key
}

// DecodeError records a goccy/go-yaml error or a NodeError as a located
// Error.
func (r *Reader) DecodeError(file string, err error) {
	var ne *NodeError
	if errors.As(err, &ne) {
		r.Errs = append(r.Errs, Located(file, ne.Tok, ne.Msg))
		return
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		r.Errs = append(r.Errs, Located(file, ye.GetToken(), ye.GetMessage()))
		return
	}
	r.Errorf(file, nil, "", "%v", err)
}
