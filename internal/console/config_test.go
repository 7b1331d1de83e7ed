package console_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/pipelines"
)

// TestConfigShowsAFailedReload: after a broken edit, the Config page
// says the reload failed, names the error's file:line:column and lists
// the reload in the history, while the old plan keeps serving.
func TestConfigShowsAFailedReload(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, pipelines.FS); err != nil {
		t.Fatal(err)
	}
	d := startDemoDir(t, dir)
	c := browser(t)
	signIn(t, c, d)
	file := filepath.Join(dir, "product-search.yaml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), "method: GET", "method: FETCH", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, d.admin+"/reload", nil)
	req.Header.Set("X-API-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("reload of a broken file: %d, want 422", resp.StatusCode)
	}
	status, body, _ := get(t, c, d.admin+"/console/config")
	if status != http.StatusOK || !strings.Contains(body, `id="reload-state">failed`) {
		t.Fatalf("the config page does not show the failed reload: %d %s", status, body)
	}
	if !regexp.MustCompile(`product-search\.yaml:\d+:\d+: `).MatchString(body) {
		t.Errorf("the config page does not name the error's file:line:column:\n%s", body)
	}
	if n := strings.Count(body, "<td>admin</td>"); n != 1 || !strings.Contains(body, "<td>start</td>") {
		t.Errorf("the history lists %d admin reloads and the start: %v", n, strings.Contains(body, "<td>start</td>"))
	}
	if !strings.Contains(body, "cluster mode is not configured") {
		t.Error("the config page has no place for cluster replicas")
	}
}
