package openapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// ImportListen is the listen address of a gateway.yaml the import
// writes: loopback, so that a fresh import is not reachable from the
// network before its owner adds auth.
const ImportListen = "127.0.0.1:9080"

// ErrExists is a file or an upstream the import would overwrite.
var ErrExists = errors.New("already exists (pass --force to replace it)")

// Write puts the import into dir: one file per pipeline, and the upstream
// in dir's gateway.yaml, which is created (with a plugin section from the
// document's info) when missing. An existing gateway.yaml keeps its
// comments and layout. Nothing is replaced unless force; source names the
// document in the files' header comments. It returns the files written.
func (im *Imported) Write(dir, source string, force bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, p := range im.Pipelines {
		file := filepath.Join(dir, p.File)
		if _, err := os.Stat(file); err == nil && !force {
			return written, fmt.Errorf("%s: %w", file, ErrExists)
		}
	}
	docFile, err := im.writeDoc(dir, force)
	if err != nil {
		return written, err
	}
	if docFile != "" {
		written = append(written, docFile)
	}
	gw := filepath.Join(dir, gateway.File)
	if err := im.writeGateway(gw, force); err != nil {
		return written, err
	}
	written = append(written, gw)
	for _, p := range im.Pipelines {
		body, err := yaml.MarshalWithOptions(p.Fields, yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
		if err != nil {
			return written, fmt.Errorf("%s: %w", p.File, err)
		}
		head := fmt.Sprintf("# Imported by `manifold import openapi` from %s (%s).\n# A plain pipeline: edit it freely.\n", source, p.Route)
		file := filepath.Join(dir, p.File)
		if err := os.WriteFile(file, append([]byte(head), body...), 0o644); err != nil {
			return written, err
		}
		written = append(written, file)
	}
	return written, nil
}

// writeGateway adds the upstream to gateway.yaml, or writes a new one.
func (im *Imported) writeGateway(file string, force bool) error {
	fields := yaml.MapSlice{{Key: "url", Value: im.URL}}
	if im.Doc != nil {
		fields = append(fields, yaml.MapItem{Key: "openapi", Value: im.docPath()})
	}
	if im.key != nil {
		fields = append(fields, yaml.MapItem{Key: "auth", Value: im.key.auth()})
	}
	entry := yaml.MapSlice{{Key: im.Upstream, Value: fields}}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return os.WriteFile(file, im.newGateway(entry), 0o644)
	}
	if err != nil {
		return err
	}
	f, err := parser.ParseBytes(data, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	text, err := yaml.Marshal(entry)
	if err != nil {
		return err
	}
	upstreams, _ := yaml.PathString("$.upstreams")
	existing, _ := yaml.PathString("$.upstreams." + im.Upstream)
	switch _, err := upstreams.FilterFile(f); {
	case err != nil: // no upstreams yet: add the section
		out := strings.TrimRight(string(data), "\n") + "\nupstreams:\n" + indent(string(text), "  ")
		return os.WriteFile(file, []byte(out), 0o644)
	default:
		if _, err := existing.FilterFile(f); err == nil {
			if !force {
				return fmt.Errorf("%s: upstream %q %w", file, im.Upstream, ErrExists)
			}
			body, _ := yaml.Marshal(entry[0].Value)
			if err := existing.ReplaceWithReader(f, strings.NewReader(string(body))); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		} else if err := upstreams.MergeFromReader(f, strings.NewReader(string(text))); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	return os.WriteFile(file, []byte(f.String()+"\n"), 0o644)
}

// newGateway is a gateway.yaml for the imported backend alone.
func (im *Imported) newGateway(upstreams yaml.MapSlice) []byte {
	gw := yaml.MapSlice{
		// Loopback until the operator decides to publish it.
		{Key: "server", Value: yaml.MapSlice{{Key: "listen", Value: ImportListen}}},
		{Key: "upstreams", Value: upstreams},
	}
	plugin := yaml.MapSlice{}
	for _, f := range []struct{ key, value string }{
		{"name_for_human", im.Plugin.NameForHuman},
		{"name_for_model", im.Plugin.NameForModel},
		{"description_for_human", im.Plugin.DescriptionForHuman},
		{"description_for_model", im.Plugin.DescriptionForModel},
		{"contact_email", im.Plugin.ContactEmail},
		{"legal_info_url", im.Plugin.LegalInfoURL},
	} {
		if f.value != "" {
			plugin = append(plugin, yaml.MapItem{Key: f.key, Value: f.value})
		}
	}
	if len(plugin) > 0 {
		gw = append(gw, yaml.MapItem{Key: "plugin", Value: plugin})
	}
	body, _ := yaml.MarshalWithOptions(gw, yaml.Indent(2), yaml.IndentSequence(true)) // strings only: cannot fail
	return append([]byte("# Written by `manifold import openapi`. Add auth, consumers and defaults as needed.\n"), body...)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
