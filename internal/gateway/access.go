package gateway

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Access is who may call a pipeline: `public`, or roles and a rate.
type Access struct {
	Public bool
	Roles  []string
	Rate   *yamlconf.Rate
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (a *Access) UnmarshalYAML(n ast.Node) error {
	n = yamlconf.Unwrap(n) // tags such as !!str
	if s, ok := n.(*ast.StringNode); ok {
		if s.Value != "public" {
			return yamlconf.ErrAt(n, "invalid access %q: want `public` or {roles: [...], rate: ...}", s.Value)
		}
		*a = Access{Public: true}
		return nil
	}
	if !yamlconf.IsMapping(n) {
		return yamlconf.ErrAt(n, "invalid access: want `public` or {roles: [...], rate: ...}, got %s", yamlconf.Describe(n))
	}
	*a = Access{}
	for _, kv := range yamlconf.Entries(n) {
		switch key := yamlconf.KeyName(kv); key {
		case "public": // {public: true, rate: ...}: open, but rate-limited
			b, ok := kv.Value.(*ast.BoolNode)
			if !ok {
				return yamlconf.ErrAt(kv.Value, "want true or false, got %s", yamlconf.Describe(kv.Value))
			}
			a.Public = b.Value
		case "roles":
			roles, err := yamlconf.StringList(kv.Value)
			if err != nil {
				return err
			}
			a.Roles = roles
		case "rate":
			a.Rate = new(yamlconf.Rate)
			if err := a.Rate.UnmarshalYAML(kv.Value); err != nil {
				return err
			}
		default:
			return yamlconf.ErrAt(kv.Key, "unknown key %q in access (known: public, roles, rate)", key)
		}
	}
	if a.Public && len(a.Roles) > 0 {
		return yamlconf.ErrAt(n, "access cannot be public and require roles")
	}
	return nil
}
