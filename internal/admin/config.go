package admin

import (
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/redact"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Redacted replaces secrets in admin answers.
const Redacted = "[redacted]"

// secretKeys are configuration keys whose values are secrets whatever
// their origin: they are redacted even when written literally.
var secretKeys = map[string]bool{
	"key": true, "secret": true, "client_secret": true, "password": true,
	"token": true, "creds": true, "nkey": true, "headers": true,
}

func (a *API) config(w http.ResponseWriter, _ *http.Request) {
	plan := a.runtime().Plan
	writeJSON(w, http.StatusOK, EffectiveConfig(plan))
}

// EffectiveConfig is the configuration being served, defaults applied,
// as JSON values under gateway.yaml's keys. Values that came from the
// environment and values of secret keys (admin key, upstream headers,
// client secrets) are redacted, and so is the user part of every URL.
func EffectiveConfig(plan *pipeline.Plan) map[string]any {
	secrets := plan.Gateway.Secrets()
	pipes := make([]map[string]any, 0, len(plan.Pipelines))
	for _, p := range plan.Pipelines {
		pipes = append(pipes, map[string]any{"name": p.Name, "file": p.File, "sha256": p.SHA256, "method": p.Method, "path": p.Path})
	}
	return map[string]any{
		"dir":       plan.Dir,
		"gateway":   redactValue(plainValue(reflect.ValueOf(plan.Gateway)), "", secrets),
		"pipelines": pipes,
	}
}

// plainValue turns configuration structs into maps keyed by their YAML
// names, durations into "800ms", rates into "60/min".
func plainValue(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch x := v.Interface().(type) {
	case yamlconf.Duration:
		return x.D().String()
	case time.Duration:
		return x.String()
	case yamlconf.Rate:
		return x.String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plainValue(v.Elem())
	case reflect.Struct:
		return plainStruct(v)
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			m[k.String()] = plainValue(v.MapIndex(k))
		}
		return m
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plainValue(v.Index(i))
		}
		return out
	case reflect.Func, reflect.Chan:
		return nil
	}
	return v.Interface()
}

func plainStruct(v reflect.Value) map[string]any {
	t := v.Type()
	m := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = plainValue(v.Field(i))
	}
	return m
}

// redactValue replaces, in strings, every secret value and, under secret
// keys, every non-empty value. URLs lose their passwords.
func redactValue(v any, key string, secrets []string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if _, list := e.([]any); secretKeys[k] && !(k == "headers" && list) { // CORS headers: names, not values
				out[k] = redactAll(e)
				continue
			}
			out[k] = redactValue(e, k, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, key, secrets)
		}
		return out
	case string:
		return redactString(x, secrets)
	}
	return v
}

// redactAll redacts every non-empty string in v, keeping its shape (map
// keys, such as header names, stay).
func redactAll(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactAll(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactAll(e)
		}
		return out
	case string:
		if x == "" {
			return x
		}
		return Redacted
	}
	return v
}

// redactString removes secret values from s, longest first (so that a
// secret containing another is replaced whole), and the whole user part
// of every URL in it.
func redactString(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return redact.URLs(s)
}
