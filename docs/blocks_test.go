package docs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// marker precedes a fenced block that shows a file of the repository:
// `<!-- example: docs/examples/x/y.yaml -->`. The block must be that
// file, byte for byte, so the docs cannot drift from what the tests run.
var marker = regexp.MustCompile(`^<!-- example: (\S+) -->$`)

// shownBlock is a fenced block that follows a marker.
type shownBlock struct {
	doc  string // the markdown file, relative to the repository
	line int    // the marker's line
	file string // the file it shows, relative to the repository
	text string // the block's content
}

// TestShownExamplesMatchFiles compares every marked block in the markdown
// with the file it names, and requires every example file to be shown.
func TestShownExamplesMatchFiles(t *testing.T) {
	root := repoRoot(t)
	shown := map[string]bool{}
	for _, doc := range markdownFiles(t, root) {
		for _, b := range shownBlocks(t, root, doc) {
			shown[b.file] = true
			want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(b.file)))
			if err != nil {
				t.Errorf("%s:%d: shows %s, which cannot be read: %v", b.doc, b.line, b.file, err)
				continue
			}
			if b.text != string(want) {
				t.Errorf("%s:%d: the block differs from %s; paste the file again:\n--- block\n%s--- file\n%s",
					b.doc, b.line, b.file, b.text, want)
			}
		}
	}
	if len(shown) == 0 {
		t.Fatal("no marked example blocks found in the docs")
	}
	err := filepath.WalkDir(filepath.Join(root, "docs", "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		rel := filepath.ToSlash(mustRel(t, root, p))
		if !shown[rel] {
			t.Errorf("%s is not shown in any page: add it after an `<!-- example: %s -->` marker", rel, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shownBlocks returns the marked blocks of one markdown file. A marker
// must be followed (after blank lines at most) by a fenced block.
func shownBlocks(t *testing.T, root, doc string) []shownBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []shownBlock
		cur     *shownBlock
		inBlock bool
		fence   string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case inBlock && strings.TrimSpace(line) == fence:
			inBlock = false
			if cur != nil {
				out, cur = append(out, *cur), nil
			}
		case inBlock:
			if cur != nil {
				cur.text += line + "\n"
			}
		case marker.MatchString(line):
			cur = &shownBlock{doc: doc, line: n, file: marker.FindStringSubmatch(line)[1]}
		case strings.HasPrefix(strings.TrimSpace(line), "```"):
			inBlock, fence = true, strings.TrimSpace(line)[:3]
		case cur != nil && strings.TrimSpace(line) != "":
			t.Errorf("%s:%d: the example marker is not followed by a fenced block", doc, cur.line)
			cur = nil
		}
	}
	if cur != nil {
		t.Errorf("%s:%d: the example marker is not followed by a fenced block", doc, cur.line)
	}
	return out
}
