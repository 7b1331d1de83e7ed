package gateway

import (
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// File is the name of the gateway configuration in a pipeline directory.
const File = "gateway.yaml"

// Options tune Load.
type Options struct {
	// LookupEnv resolves ${NAME} references. Nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Listen, if set, overrides server.listen (the --listen flag); a
	// public_url left out of gateway.yaml is then derived from it.
	Listen string
}

// Load reads, defaults and validates the gateway.yaml of r's directory,
// recording every error in r. It returns the configuration even when it
// is broken (nil only when it cannot be read or decoded at all), so that
// the pipelines beside it are still checked against its upstreams: a
// caller must not use it while r holds errors.
func Load(r *yamlconf.Reader, opts Options) *Config {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	l := &loader{Reader: r, env: opts.LookupEnv, listen: opts.Listen}
	return l.load()
}

// loader loads one gateway.yaml into its Reader's errors.
type loader struct {
	*yamlconf.Reader
	env    func(string) (string, bool)
	listen string
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (l *loader) load() *Config {
	if _, err := fs.Stat(l.FS, File); err != nil {
		l.Errorf(l.Display(File), nil, "", "missing: a pipeline directory needs a %s", File)
		return nil
	}
	d := l.Parse(File)
	if d == nil {
		return nil
	}
	gw := &Config{doc: d}
	before := len(l.Errs)
	gw.secrets, gw.fromEnv = l.resolveEnv(d)
	envMissing := len(l.Errs) > before
	if !l.Decode(d, gw) {
		return nil
	}
	// `name:` with no value decodes to nil; validated as an empty entry.
	for name, u := range gw.Upstreams {
		if u == nil {
			gw.Upstreams[name] = &Upstream{}
		}
	}
	for name, c := range gw.Consumers {
		if c == nil {
			gw.Consumers[name] = &Consumer{}
		}
	}
	// An ephemeral port (":0") says nothing of the public URL.
	ephemeral := strings.HasSuffix(l.listen, ":0")
	if l.listen != "" && !ephemeral {
		gw.Server.Listen = l.listen
	}
	gw.urlFollowsListener = ephemeral && gw.Server.PublicURL == ""
	l.mergeNATS(d, gw)
	applyDefaults(gw)
	if ephemeral {
		gw.Server.Listen = l.listen
	}
	resolveTLSPaths(gw, l.Dir)
	// A value missing from the environment would only be reported again
	// as an invalid value.
	if !envMissing {
		l.validate(d, gw)
	}
	// Returned even when broken, so that the pipelines are still checked
	// against its upstreams: the caller makes no plan while any error
	// stands.
	return gw
}

// resolveEnv replaces ${NAME} in every string of gateway.yaml with the
// environment's value; a missing variable is an error. It returns the
// values it put in, so that they can be redacted wherever config is shown,
// and the keys whose whole value was one reference.
func (l *loader) resolveEnv(d *yamlconf.Doc) ([]string, map[string]bool) {
	var secrets []string
	fromEnv := map[string]bool{}
	yamlconf.WalkValues(d.Body, "", func(n ast.Node, key string) {
		s, ok := n.(*ast.StringNode)
		if lit, isLit := n.(*ast.LiteralNode); isLit {
			s, ok = lit.Value, true
		}
		if !ok || s == nil || !strings.Contains(s.Value, "${") {
			return
		}
		if m := envRef.FindStringIndex(s.Value); m != nil && m[0] == 0 && m[1] == len(s.Value) {
			fromEnv[key] = true
		}
		s.Value = envRef.ReplaceAllStringFunc(s.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := l.env(name)
			if !ok {
				l.Errorf(d.File, n, key, "environment variable %s is not set", name)
				return ""
			}
			if v != "" {
				secrets = append(secrets, v)
			}
			return v
		})
	})
	return secrets, fromEnv
}

// Upstream returns the upstream called name, or nil (also when gw is nil:
// a broken gateway.yaml, whose pipelines are still checked).
func (gw *Config) Upstream(name string) *Upstream {
	if gw == nil {
		return nil
	}
	return gw.Upstreams[name]
}

// Secrets returns the values gateway.yaml took from the environment.
func (gw *Config) Secrets() []string { return gw.secrets }
