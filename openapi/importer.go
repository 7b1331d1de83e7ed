package openapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Upstream names the backend in gateway.yaml's upstreams (required).
	Upstream string
	// URL is the backend's base URL; empty: the document's first server.
	URL string
	// PathPrefix goes in front of every imported path ("/markets-api").
	PathPrefix string
	// UpstreamOnly writes the upstream and its document, and no
	// pass-through pipelines: the backend is then called by pipelines
	// written by hand, and nothing of it is public as it is.
	UpstreamOnly bool
	// Name is the plugin's name in a new gateway.yaml (name_for_human,
	// and name_for_model made of it); empty: the document's title.
	Name string
}

// Imported is what Import makes of a backend's document: an upstream and
// one pass-through pipeline per operation.
type Imported struct {
	Upstream  string
	URL       string
	Plugin    gateway.Plugin // from the document's info, for a new gateway.yaml
	Pipelines []ImportedPipeline
	// Skipped says what was left out (operations, parameters) and why.
	Skipped []string
	// Doc is the backend's document (as OpenAPI 3), written beside the
	// pipelines and named by the upstream's openapi key.
	Doc *openapi3.T
	// Operations counts the operations that could be imported, written
	// as pipelines or not (UpstreamOnly).
	Operations int
	// key is the backend's API key scheme, made the upstream's credential.
	key *importedKey
}

// KeyEnv is the environment variable the upstream's API key is read
// from, or "" when the document declares no usable apiKey scheme.
func (im *Imported) KeyEnv() string {
	if im.key == nil {
		return ""
	}
	return im.key.env
}

// ImportedPipeline is one pipeline file to write.
type ImportedPipeline struct {
	Name   string
	File   string // file name, without directory
	Route  string // "GET /markets/{id}" as the backend serves it
	Fields yaml.MapSlice
}

// ErrImport is a document Import cannot use.
var ErrImport = errors.New("import")

// importedMethods are the methods a pipeline can have, in file order.
var importedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Import turns every operation of src into a pass-through pipeline: one
// step calling the operation on the upstream, its parameters, body and
// response schema carried over, descriptions trimmed to what assistants
// accept. What cannot be carried over (cookie parameters, non-JSON
// bodies, ...) is listed in Skipped.
func Import(src *Source, opts ImportOptions) (*Imported, error) {
	if !identifierRE.MatchString(opts.Upstream) {
		return nil, fmt.Errorf("%w: upstream name %q must match %s", ErrImport, opts.Upstream, identifierRE)
	}
	base, err := baseURL(src, opts.URL)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(opts.PathPrefix, "/")
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	im := &Imported{Upstream: opts.Upstream, URL: base, Plugin: pluginFrom(src.Doc.Info), Doc: src.Doc}
	if opts.Name != "" {
		if err := im.name(opts.Name); err != nil {
			return nil, err
		}
	}
	im.key, im.Skipped = apiKeyOf(src.Doc, opts.Upstream)
	names := map[string]bool{}
	paths := src.Doc.Paths.Keys()
	slices.Sort(paths)
	for _, path := range paths {
		item := src.Doc.Paths.Value(path)
		for _, method := range importedMethods {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			route := method + " " + path
			c := &converter{route: route, upstream: opts.Upstream, key: im.key}
			p, ok := c.pipeline(method, prefix, path, item, op, names)
			im.Skipped = append(im.Skipped, c.skipped...)
			if ok {
				im.Pipelines = append(im.Pipelines, p)
			}
		}
	}
	for _, m := range []string{"head", "options", "trace"} {
		for _, path := range paths {
			if src.Doc.Paths.Value(path).GetOperation(strings.ToUpper(m)) != nil {
				im.Skipped = append(im.Skipped, fmt.Sprintf("%s %s: pipelines serve GET, POST, PUT, PATCH and DELETE only", strings.ToUpper(m), path))
			}
		}
	}
	if len(im.Pipelines) == 0 {
		return im, fmt.Errorf("%w: no operation could be imported", ErrImport)
	}
	im.Operations = len(im.Pipelines)
	if opts.UpstreamOnly {
		im.Pipelines = nil
	}
	return im, nil
}

// name sets the plugin's names from the --name flag.
func (im *Imported) name(name string) error {
	human := strings.TrimSpace(name)
	model := modelName(human)
	if model == "" || utf8.RuneCountInString(human) > gateway.MaxNameForHuman {
		return fmt.Errorf("%w: plugin name %q must be 1 to %d characters with a letter or digit", ErrImport, name, gateway.MaxNameForHuman)
	}
	im.Plugin.NameForHuman, im.Plugin.NameForModel = human, model
	return nil
}

// baseURL is the backend's URL: the one given, or the document's first
// server with its variables at their defaults, resolved against where the
// document was read when relative.
func baseURL(src *Source, given string) (string, error) {
	raw := given
	if raw == "" {
		if len(src.Doc.Servers) == 0 {
			return "", fmt.Errorf("%w: the document names no server: pass --url", ErrImport)
		}
		s := src.Doc.Servers[0]
		raw = s.URL
		for name, v := range s.Variables {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
		if ref, err := url.Parse(raw); err == nil && !ref.IsAbs() && src.Location != nil && src.Location.Scheme != "file" {
			raw = src.Location.ResolveReference(ref).String()
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(raw, "{") {
		return "", fmt.Errorf("%w: backend URL %q is not an absolute http(s) URL: pass --url", ErrImport, raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// pluginFrom fills a plugin section from the document's info, within the
// manifest's limits.
func pluginFrom(info *openapi3.Info) gateway.Plugin {
	if info == nil {
		return gateway.Plugin{}
	}
	pl := gateway.Plugin{
		NameForHuman:        trim(info.Title, gateway.MaxNameForHuman),
		NameForModel:        modelName(info.Title),
		DescriptionForModel: trim(info.Description, gateway.MaxDescriptionForModel),
	}
	human := info.Summary
	if human == "" {
		human = firstSentence(info.Description)
	}
	pl.DescriptionForHuman = trim(human, gateway.MaxDescriptionForHuman)
	if info.Contact != nil && strings.Count(info.Contact.Email, "@") == 1 && !strings.ContainsAny(info.Contact.Email, " <>") {
		pl.ContactEmail = info.Contact.Email
	}
	if u, err := url.Parse(info.TermsOfService); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		pl.LegalInfoURL = info.TermsOfService
	}
	return pl
}

// modelName is a title as the manifest's name_for_model: letters, digits
// and underscores, at most 50.
func modelName(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if len(s) > gateway.MaxNameForModel {
		s = strings.TrimRight(s[:gateway.MaxNameForModel], "_")
	}
	return s
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// identifierRE is the shape of pipeline, parameter and upstream names.
var identifierRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// camel makes an identifier of arbitrary text: "list-markets" becomes
// "listMarkets", "2fa" becomes "op2fa".
func camel(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'):
			if upper && b.Len() > 0 {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
	}
	out := b.String()
	if out == "" || !unicode.IsLetter(rune(out[0])) {
		out = "op" + out
	}
	return out
}

// snake makes a parameter name of a backend's: "radius-km" becomes
// "radius_km", "page[size]" becomes "page_size".
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" || !unicode.IsLetter(rune(out[0])) {
		out = "p_" + out
	}
	return out
}

// kebab writes a pipeline name as a file name: nearestMarkets becomes
// nearest-markets.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		if r == '_' {
			r = '-'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
