// Package typecheck knows the types of upstream answers from their
// OpenAPI documents: it finds the operation a step calls, checks the
// step's parameters and body against it, and infers the schema of jq
// expressions over those answers. It depends on the language package's
// inputs only through plain values (paths, names, schemas as JSON
// objects), so that the loader and the document generators can share it.
package typecheck

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Doc is an upstream's OpenAPI document (3.0 or 3.1).
type Doc struct {
	Name string // the file, as written in gateway.yaml
	T    *openapi3.T
}

// ErrNotOpenAPI is a file that is not an OpenAPI 3 document.
var ErrNotOpenAPI = errors.New("not an OpenAPI 3.0 or 3.1 document")

// Load reads the document name (YAML or JSON) from fsys, with the files
// its $refs name, and validates it.
func Load(fsys fs.FS, name string) (*Doc, error) {
	name = path.Clean(name)
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" {
			return nil, fmt.Errorf("%s: only files beside the document can be referenced", u)
		}
		return fs.ReadFile(fsys, path.Clean(u.Path))
	}
	t, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	if !strings.HasPrefix(t.OpenAPI, "3.0") && !strings.HasPrefix(t.OpenAPI, "3.1") {
		return nil, fmt.Errorf("%w (openapi: %q)", ErrNotOpenAPI, t.OpenAPI)
	}
	if err := t.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	return &Doc{Name: name, T: t}, nil
}
