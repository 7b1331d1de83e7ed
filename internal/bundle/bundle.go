// Package bundle stores a cluster's configuration in JetStream: the raw
// files of a pipeline directory (gateway.yaml, the pipelines, the plugin
// assets), ${ENV} unresolved so that no secret enters NATS, as one
// versioned entry of a key-value bucket named after the cluster. Replicas
// watch it; each replica reports what it serves in a second bucket.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"
)

// MaxFileBytes and MaxFiles bound what a bundle may hold; the encoded
// bundle must also fit the NATS server's max_payload (1 MiB by default).
const (
	MaxFileBytes = 4 << 20
	MaxFiles     = 1000
)

// metaFile is the bundle's own description inside the archive.
const metaFile = ".manifold-bundle.json"

// Meta describes a bundle: who pushed it, from where, when, and, for a
// rollback, the revision it brings back.
type Meta struct {
	PushedAt     time.Time `json:"pushed_at"`
	PushedBy     string    `json:"pushed_by,omitempty"` // user@host of `manifold push`
	Source       string    `json:"source,omitempty"`    // the directory pushed
	RollbackFrom uint64    `json:"rollback_of,omitempty"`
}

// Bundle is a pipeline directory's files, by slash-separated path.
type Bundle struct {
	Files map[string][]byte
	Meta  Meta
}

// Collect returns the bundle of dir: the files load reads through the
// fsys it is given, which is dir. Loading the directory with the
// gateway's loader this way makes the bundle hold exactly what a replica
// needs (gateway.yaml, the pipelines, plugin assets, upstream OpenAPI
// documents in subdirectories) and nothing else: not the test files, not
// the audit store beside them.
func Collect(dir string, load func(fsys fs.FS) error) (*Bundle, error) {
	rec := &recorder{base: os.DirFS(dir), read: map[string]bool{}}
	if err := load(rec); err != nil {
		return nil, err
	}
	b := &Bundle{Files: map[string][]byte{}}
	for name := range rec.read {
		data, err := fs.ReadFile(rec.base, name)
		if err != nil {
			return nil, err
		}
		if len(data) > MaxFileBytes {
			return nil, fmt.Errorf("%s: %d bytes is more than a bundle takes (%d)", filepath.Join(dir, name), len(data), MaxFileBytes)
		}
		b.Files[name] = data
	}
	if len(b.Files) > MaxFiles {
		return nil, fmt.Errorf("%s: %d files is more than a bundle takes (%d)", dir, len(b.Files), MaxFiles)
	}
	return b, nil
}

// recorder is an fs.FS that notes the regular files opened through it.
type recorder struct {
	base fs.FS
	mu   sync.Mutex
	read map[string]bool
}

func (r *recorder) Open(name string) (fs.File, error) {
	f, err := r.base.Open(name)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		r.mu.Lock()
		r.read[name] = true
		r.mu.Unlock()
	}
	return f, nil
}

// FS serves the bundle's files to the loader.
func (b *Bundle) FS() fs.FS {
	m := fstest.MapFS{}
	for name, data := range b.Files {
		m[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	return m
}

// Encode writes the bundle as a gzipped tar archive (inspect one with
// `nats kv get manifold-config-NAME bundle --raw | tar tz`), files in name
// order so that equal bundles encode alike.
func (b *Bundle) Encode() ([]byte, error) {
	meta, err := json.Marshal(b.Meta)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(metaFile, meta); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := add(n, b.Files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrCorrupt is wrapped by Decode's errors.
var ErrCorrupt = errors.New("bundle: not a config bundle")

// Decode reads a bundle written by Encode.
func Decode(data []byte) (*Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	tr := tar.NewReader(zr)
	b := &Bundle{Files: map[string][]byte{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if h.Typeflag != tar.TypeReg || !fs.ValidPath(h.Name) || strings.Contains(h.Name, `\`) || h.Size > MaxFileBytes || len(b.Files) >= MaxFiles {
			return nil, fmt.Errorf("%w: entry %q", ErrCorrupt, h.Name)
		}
		data, err := io.ReadAll(io.LimitReader(tr, MaxFileBytes))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if h.Name == metaFile {
			if err := json.Unmarshal(data, &b.Meta); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			continue
		}
		b.Files[h.Name] = data
	}
	return b, nil
}
