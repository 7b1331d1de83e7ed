package openapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// docPath is where the import puts the backend's document, relative to
// the pipeline directory: the upstream's openapi key.
func (im *Imported) docPath() string { return path.Join("openapi", im.Upstream+".json") }

// writeDoc writes the backend's document (as OpenAPI 3, JSON) into dir,
// so that the loader checks the imported steps against it and infers
// their answers' schemas. It returns the file written ("" when none).
func (im *Imported) writeDoc(dir string, force bool) (string, error) {
	if im.Doc == nil {
		return "", nil
	}
	file := filepath.Join(dir, filepath.FromSlash(im.docPath()))
	if _, err := os.Stat(file); err == nil && !force {
		return "", fmt.Errorf("%s: %w", file, ErrExists)
	}
	data, err := json.MarshalIndent(im.Doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	return file, os.WriteFile(file, append(data, '\n'), 0o644)
}
