package gateway

import (
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// pngHeader is enough of a PNG for http.DetectContentType.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// loadFiles loads gateway.yaml with other files beside it.
func loadFiles(t *testing.T, text string, files map[string][]byte, opts Options) (*Config, yamlconf.Errors) {
	t.Helper()
	fsys := fstest.MapFS{File: {Data: []byte(text)}}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: body}
	}
	r := &yamlconf.Reader{FS: fsys, Dir: "dir"}
	gw := Load(r, opts)
	r.Errs.Sort()
	return gw, r.Errs
}

// TestPluginFilesServed: plugin.logo and plugin.legal become assets at
// fixed paths, and the manifest URLs point at them.
func TestPluginFilesServed(t *testing.T) {
	files := map[string][]byte{"img/Logo.PNG": pngHeader, "legal.md": []byte("# Terms\n")}
	gw, errs := loadFiles(t, "server: {public_url: https://deals.example/}\nplugin: {logo: img/Logo.PNG, legal: legal.md}\n", files, Options{})
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	if got := gw.LogoURL(); got != "https://deals.example/.well-known/logo.png" {
		t.Errorf("LogoURL() = %q", got)
	}
	if got := gw.LegalInfoURL(); got != "https://deals.example/legal" {
		t.Errorf("LegalInfoURL() = %q", got)
	}
	want := map[string]string{"/.well-known/logo.png": "image/png", "/legal": "text/plain; charset=utf-8"}
	if len(gw.Assets()) != len(want) {
		t.Fatalf("Assets() = %+v", gw.Assets())
	}
	for _, a := range gw.Assets() {
		if want[a.Path] != a.ContentType || len(a.Body) == 0 {
			t.Errorf("asset %s: %s, %d bytes", a.Path, a.ContentType, len(a.Body))
		}
	}
}

// TestPluginURLsFromConfig: without files, the configured URLs are used
// as they are; with neither, the URLs are empty (validate warns).
func TestPluginURLsFromConfig(t *testing.T) {
	gw, errs := loadFiles(t, "plugin: {logo_url: https://cdn.example/l.png, legal_info_url: https://example.com/terms}\n", nil, Options{})
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	if gw.LogoURL() != "https://cdn.example/l.png" || gw.LegalInfoURL() != "https://example.com/terms" || len(gw.Assets()) != 0 {
		t.Errorf("URLs %q %q, assets %d", gw.LogoURL(), gw.LegalInfoURL(), len(gw.Assets()))
	}
	gw, _ = loadFiles(t, "server: {listen: \":9080\"}\n", nil, Options{})
	if gw.LogoURL() != "" || gw.LegalInfoURL() != "" {
		t.Errorf("URLs %q %q, want none", gw.LogoURL(), gw.LegalInfoURL())
	}
}

// TestPluginFileErrors: exact, located errors for every way a plugin
// file can be wrong.
func TestPluginFileErrors(t *testing.T) {
	files := map[string][]byte{
		"logo.png": []byte("GIF89a not a png"), "legal.md": {0xff, 0xfe, 'x'},
		"ok.png": pngHeader, "big.png": append(append([]byte{}, pngHeader...), make([]byte, MaxAssetSize)...),
	}
	for _, tc := range []struct{ yaml, want string }{
		{"plugin: {logo: ok.png, logo_url: https://x.example/l.png}", `dir/gateway.yaml:1:16: plugin.logo: set plugin.logo or plugin.logo_url, not both`},
		{"plugin: {legal: legal.md, legal_info_url: https://x.example/t}", `dir/gateway.yaml:1:17: plugin.legal: set plugin.legal or plugin.legal_info_url, not both`},
		{"plugin: {logo: logo.svg}", `dir/gateway.yaml:1:16: plugin.logo: "logo.svg": want .gif, .jpeg, .jpg, .png or .webp`},
		{"plugin: {legal: legal.txt}", `dir/gateway.yaml:1:17: plugin.legal: "legal.txt": want .htm, .html or .md`},
		{"plugin: {logo: ../logo.png}", `dir/gateway.yaml:1:16: plugin.logo: "../logo.png": want a path relative to the pipeline directory, inside it`},
		{"plugin: {logo: /etc/logo.png}", `dir/gateway.yaml:1:16: plugin.logo: "/etc/logo.png": want a path relative to the pipeline directory, inside it`},
		{"plugin: {logo: missing.png}", `dir/gateway.yaml:1:16: plugin.logo: "missing.png": file does not exist`},
		{"plugin: {logo: logo.png}", `dir/gateway.yaml:1:16: plugin.logo: "logo.png" is not a png image (it looks like image/gif)`},
		{"plugin: {logo: big.png}", `dir/gateway.yaml:1:16: plugin.logo: "big.png" is 1048592 bytes: at most 1048576`},
		{"plugin: {legal: legal.md}", `dir/gateway.yaml:1:17: plugin.legal: "legal.md" is not UTF-8 text`},
	} {
		_, errs := loadFiles(t, tc.yaml+"\n", files, Options{})
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.yaml, errs, tc.want)
		}
	}
}

// TestPublicURLFollowsListen: --listen decides a public_url gateway.yaml
// leaves out (an unspecified host reads localhost); an ephemeral port is
// followed once bound; a configured public_url never moves.
func TestPublicURLFollowsListen(t *testing.T) {
	for _, tc := range []struct{ yaml, listen, bound, want string }{
		{"cache: {}", "127.0.0.1:9080", "", "http://127.0.0.1:9080"},
		{"cache: {}", "0.0.0.0:8080", "", "http://localhost:8080"},
		{"cache: {}", "[::]:8080", "", "http://localhost:8080"},
		{"server: {listen: \":7000\"}", "", "", "http://localhost:7000"},
		{"cache: {}", "127.0.0.1:0", "127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"cache: {}", "", "127.0.0.1:41234", "http://localhost:9080"},
		{"server: {public_url: https://api.example}", "127.0.0.1:0", "127.0.0.1:41234", "https://api.example"},
	} {
		gw, errs := loadFiles(t, tc.yaml+"\n", nil, Options{Listen: tc.listen})
		if len(errs) > 0 {
			t.Fatalf("%q: %v", tc.yaml, errs)
		}
		if tc.bound != "" {
			gw.Bound(tc.bound)
		}
		if got := gw.Server.PublicURL; got != tc.want {
			t.Errorf("%q listen %q bound %q: public_url %q, want %q", tc.yaml, tc.listen, tc.bound, got, tc.want)
		}
	}
}
