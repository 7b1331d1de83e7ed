package openapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
)

// importedKey is the backend's API key scheme, as the upstream's
// credential: sent by the gateway with every call, read from the
// environment, never asked of the caller.
type importedKey struct {
	scheme string // the securitySchemes entry
	in     string // header or query
	name   string // the header or query parameter
	env    string // the environment variable holding the key
}

// auth is the upstream's auth entry for gateway.yaml.
func (k *importedKey) auth() yaml.MapSlice {
	return yaml.MapSlice{
		{Key: "type", Value: "api_key"},
		{Key: "in", Value: k.in},
		{Key: "name", Value: k.name},
		{Key: "value", Value: "${" + k.env + "}"},
	}
}

// carries reports whether p is the key itself, which the pipelines must
// not take from callers.
func (k *importedKey) carries(p *openapi3.Parameter) bool {
	if k == nil || p.In != k.in {
		return false
	}
	if k.in == "header" {
		return strings.EqualFold(p.Name, k.name)
	}
	return p.Name == k.name
}

// apiKeyOf finds the document's apiKey security scheme: the first one (by
// name) that the document or one of its operations requires, else the
// first one declared. Schemes it cannot use are noted in skipped.
func apiKeyOf(doc *openapi3.T, upstream string) (*importedKey, []string) {
	if doc.Components == nil || len(doc.Components.SecuritySchemes) == 0 {
		return nil, nil
	}
	required := map[string]bool{}
	for _, req := range doc.Security {
		for name := range req {
			required[name] = true
		}
	}
	for _, path := range doc.Paths.Keys() {
		for _, op := range doc.Paths.Value(path).Operations() {
			if op.Security != nil {
				for _, req := range *op.Security {
					for name := range req {
						required[name] = true
					}
				}
			}
		}
	}
	names := sortedKeys(doc.Components.SecuritySchemes)
	if len(required) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return !required[n] })
	}
	var key *importedKey
	var skipped []string
	for _, name := range names {
		ref := doc.Components.SecuritySchemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		s := ref.Value
		switch {
		case s.Type != "apiKey":
			skipped = append(skipped, fmt.Sprintf("security scheme %q (%s) is left out: set upstreams.%s.auth by hand (docs/gateway.md)", name, s.Type, upstream))
		case s.In != "header" && s.In != "query":
			skipped = append(skipped, fmt.Sprintf("security scheme %q is left out: an API key in a %s cannot be sent by the gateway", name, s.In))
		case key != nil:
			skipped = append(skipped, fmt.Sprintf("security scheme %q is left out: the upstream's credential is %q", name, key.scheme))
		default:
			key = &importedKey{scheme: name, in: s.In, name: s.Name, env: strings.ToUpper(snake(upstream)) + "_API_KEY"}
		}
	}
	return key, skipped
}
