package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
)

// MaxSpecSize bounds a backend document read by LoadSpec.
const MaxSpecSize = 16 << 20

// ErrNotOpenAPI is a document that is neither OpenAPI 3.x nor Swagger 2.0.
var ErrNotOpenAPI = errors.New("not an OpenAPI 3.0/3.1 or Swagger 2.0 document")

// Source is a backend's API document, loaded.
type Source struct {
	Doc      *openapi3.T
	Location *url.URL // where it was read from (file:// or http(s)://)
	Version  string   // as written: "2.0", "3.0.3", "3.1.0", ...
	// Problems are what kin-openapi's validator found wrong with the
	// document; the import goes on, and the pipelines it writes are
	// checked by the loader.
	Problems []string
}

// LoadSpec reads an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or
// JSON) from a file or an http(s) URL, resolving its references, and
// converts Swagger 2.0 to OpenAPI 3. client fetches URLs (nil: a client
// with a 30s timeout).
func LoadSpec(ctx context.Context, location string, client *http.Client) (*Source, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	loc, data, err := read(ctx, location, client)
	if err != nil {
		return nil, err
	}
	var head struct {
		Swagger string `yaml:"swagger"`
		OpenAPI string `yaml:"openapi"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", location, ErrNotOpenAPI, err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.Context = ctx
	loader.ReadFromURIFunc = openapi3.ReadFromURIs(openapi3.ReadFromHTTP(client), openapi3.ReadFromFile)
	src := &Source{Location: loc}
	switch {
	case strings.HasPrefix(head.Swagger, "2."):
		src.Version = head.Swagger
		src.Doc, err = fromSwagger(data, loader, loc)
	case strings.HasPrefix(head.OpenAPI, "3."):
		src.Version = head.OpenAPI
		src.Doc, err = loader.LoadFromDataWithPath(data, loc)
	default:
		return nil, fmt.Errorf("%s: %w", location, ErrNotOpenAPI)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	if err := src.Doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		src.Problems = append(src.Problems, err.Error())
	}
	return src, nil
}

// read returns the bytes at location and its URL.
func read(ctx context.Context, location string, client *http.Client) (*url.URL, []byte, error) {
	if u, err := url.Parse(location); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept", "application/yaml, application/json;q=0.9, */*;q=0.5")
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("GET %s: %s", location, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSpecSize+1))
		if err == nil && len(data) > MaxSpecSize {
			err = fmt.Errorf("GET %s: over %d bytes", location, MaxSpecSize)
		}
		return u, data, err
	}
	abs, err := filepath.Abs(location)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, nil, err
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, data, nil
}

// fromSwagger converts a Swagger 2.0 document to OpenAPI 3.
func fromSwagger(data []byte, loader *openapi3.Loader, loc *url.URL) (*openapi3.T, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		return nil, err
	}
	return openapi2conv.ToV3WithLoader(&doc2, loader, loc)
}
