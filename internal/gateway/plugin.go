package gateway

import (
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Fixed paths of the plugin files the gateway serves: the logo keeps its
// extension (/.well-known/logo.png), the legal page is /legal.
const (
	LogoPath  = "/.well-known/logo"
	LegalPath = "/legal"
	// MaxAssetSize bounds plugin.logo and plugin.legal: they are held in
	// memory and served whole.
	MaxAssetSize = 1 << 20
)

// Asset is a file of the pipeline directory that the gateway serves.
type Asset struct {
	Path        string // URL path, e.g. /.well-known/logo.png
	ContentType string
	Body        []byte
}

// logoTypes are the logo formats accepted, by extension, with the type
// http.DetectContentType must find in the file. SVG is left out: it can
// carry scripts, and would run them on the gateway's origin.
var logoTypes = map[string]string{
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
}

// legalTypes are the legal page formats. Markdown is served as text/plain:
// browsers show it inline, where text/markdown makes most of them offer a
// download, and rendering it would need a Markdown renderer and an HTML
// sanitizer in the gateway.
var legalTypes = map[string]string{
	".md":   "text/plain; charset=utf-8",
	".html": "text/html; charset=utf-8",
	".htm":  "text/html; charset=utf-8",
}

// Assets returns the plugin files to serve (plugin.logo, plugin.legal).
func (gw *Config) Assets() []Asset { return gw.assets }

// LogoURL is the manifest's logo_url: plugin.logo_url, or the URL the
// gateway serves plugin.logo at, or "" when neither is set.
func (gw *Config) LogoURL() string {
	if pl := gw.Plugin; pl.LogoURL != "" || pl.Logo == "" {
		return pl.LogoURL
	}
	return gw.Server.PublicURL + LogoPath + strings.ToLower(path.Ext(gw.Plugin.Logo))
}

// LegalInfoURL is the manifest's legal_info_url (and the OpenAPI
// termsOfService): plugin.legal_info_url, or the URL of plugin.legal, or "".
func (gw *Config) LegalInfoURL() string {
	if pl := gw.Plugin; pl.LegalInfoURL != "" || pl.Legal == "" {
		return pl.LegalInfoURL
	}
	return gw.Server.PublicURL + LegalPath
}

// Bound tells the configuration the address its listener got. A
// public_url derived from an ephemeral listen address (":0") follows it,
// so that the documents name the port actually served; a configured or
// fixed one does not change.
func (gw *Config) Bound(addr string) {
	if gw.urlFollowsListener {
		gw.Server.PublicURL = publicURLOf(addr)
	}
}

// publicURLOf is the URL a listen address is reached at: its own host, or
// localhost for an unspecified one (":9080", "0.0.0.0:9080", "[::]:9080").
func publicURLOf(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// loadAssets reads plugin.logo and plugin.legal from the directory,
// checking that each is a file of it, of a format the gateway serves.
func (l *loader) loadAssets(d *yamlconf.Doc, gw *Config, at func(keys ...string) ast.Node) {
	pl := gw.Plugin
	if pl.Logo != "" && pl.LogoURL != "" {
		l.Errorf(d.File, at("plugin", "logo"), "plugin.logo", "set plugin.logo or plugin.logo_url, not both")
	} else if pl.Logo != "" {
		l.asset(d, gw, at, "logo", pl.Logo, logoTypes, LogoPath+strings.ToLower(path.Ext(pl.Logo)))
	}
	if pl.Legal != "" && pl.LegalInfoURL != "" {
		l.Errorf(d.File, at("plugin", "legal"), "plugin.legal", "set plugin.legal or plugin.legal_info_url, not both")
	} else if pl.Legal != "" {
		l.asset(d, gw, at, "legal", pl.Legal, legalTypes, LegalPath)
	}
}

// asset reads one plugin file into gw's assets, or records why it cannot.
func (l *loader) asset(d *yamlconf.Doc, gw *Config, at func(keys ...string) ast.Node, key, name string, types map[string]string, urlPath string) {
	bad := func(format string, args ...any) {
		l.Errorf(d.File, at("plugin", key), "plugin."+key, format, args...)
	}
	ext := strings.ToLower(path.Ext(name))
	ctype, ok := types[ext]
	if !ok {
		bad("%q: want %s", name, extList(types))
		return
	}
	if !fs.ValidPath(name) || strings.Contains(name, `\`) {
		bad("%q: want a path relative to the pipeline directory, inside it", name)
		return
	}
	body, err := fs.ReadFile(l.FS, name)
	switch {
	case err != nil:
		bad("%q: %v", name, unwrapPathError(err))
		return
	case len(body) > MaxAssetSize:
		bad("%q is %d bytes: at most %d", name, len(body), MaxAssetSize)
		return
	case key == "logo" && http.DetectContentType(body) != ctype:
		bad("%q is not a %s image (it looks like %s)", name, strings.TrimPrefix(ext, "."), http.DetectContentType(body))
		return
	case key == "legal" && !utf8.Valid(body):
		bad("%q is not UTF-8 text", name)
		return
	}
	gw.assets = append(gw.assets, Asset{Path: urlPath, ContentType: ctype, Body: body})
}

// extList names the accepted extensions, for error messages.
func extList(types map[string]string) string {
	exts := make([]string, 0, len(types))
	for e := range types {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return strings.Join(exts[:len(exts)-1], ", ") + " or " + exts[len(exts)-1]
}

// unwrapPathError drops the file name fs.PathError repeats.
func unwrapPathError(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
