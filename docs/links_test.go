package docs

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// repoRoot is the repository's root: the module directory above docs/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the repository root: %v", root, err)
	}
	return root
}

func mustRel(t *testing.T, root, p string) string {
	t.Helper()
	rel, err := filepath.Rel(root, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// repoFiles lists the repository's files with one of the suffixes,
// relative to root, skipping version control and tool directories.
func repoFiles(t *testing.T, root string, suffixes ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		for _, s := range suffixes {
			if !d.IsDir() && strings.HasSuffix(p, s) {
				out = append(out, mustRel(t, root, p))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func markdownFiles(t *testing.T, root string) []string { return repoFiles(t, root, ".md") }

// TestNothingReferencesOutsideTheRepository fails on any mention of the
// old specification outside the repository: the language reference is
// docs/pipelines.md.
func TestNothingReferencesOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	// Spelled in pieces so that this file does not match itself.
	banned := []string{"../" + "shared", "shared/" + "DESIGN", "DESIGN" + ".md"}
	for _, f := range repoFiles(t, root, ".md", ".go", ".yaml", ".yml", ".graphqls", ".json") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, b := range banned {
				if strings.Contains(line, b) {
					t.Errorf("%s:%d: mentions %q, which is outside the repository; point to docs/pipelines.md instead", f, i+1, b)
				}
			}
		}
	}
}

// mdLink matches inline markdown links and images: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestLinksStayInsideTheRepository checks every relative link of every
// markdown file: it must name a file or directory inside the repository,
// and an anchor must name a heading of the page it points to.
func TestLinksStayInsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	for _, doc := range markdownFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				if msg := checkLink(root, doc, m[1]); msg != "" {
					t.Errorf("%s:%d: link %s: %s", doc, i+1, m[1], msg)
				}
			}
		}
	}
}

// checkLink returns what is wrong with one link target of doc, or "".
func checkLink(root, doc, target string) string {
	if u, err := url.Parse(target); err == nil && u.Scheme != "" {
		return "" // the web: http(s), mailto
	}
	file, anchor, _ := strings.Cut(target, "#")
	path := filepath.Join(root, doc)
	if file != "" {
		path = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
		if rel, err := filepath.Rel(root, path); err != nil || strings.HasPrefix(rel, "..") {
			return "points outside the repository"
		}
		if _, err := os.Stat(path); err != nil {
			return "no such file in the repository"
		}
	}
	if anchor == "" || !strings.HasSuffix(path, ".md") {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if !headingAnchors(string(data))[anchor] {
		return "no heading with anchor #" + anchor
	}
	return ""
}

// headingAnchors returns the anchors GitHub gives the headings of a page:
// lower case, spaces as hyphens, punctuation dropped.
func headingAnchors(md string) map[string]bool {
	out := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		out[b.String()] = true
	}
	return out
}
