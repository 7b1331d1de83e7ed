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

// Bundle is a pipeline directory's files, by name (no directories).
type Bundle struct {
	Files map[string][]byte
	Meta  Meta
}

// ReadDir reads the regular files at the root of dir, but dot files and
// test files of `manifold test`: what the loader reads. Files in
// subdirectories are not part of a bundle.
func ReadDir(dir string) (*Bundle, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Files: map[string][]byte{}}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 || strings.HasPrefix(name, ".") ||
			strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml") {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, name)) // follows ConfigMap symlinks
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if info.Size() > MaxFileBytes {
			return nil, fmt.Errorf("%s: %d bytes is more than a bundle takes (%d)", filepath.Join(dir, name), info.Size(), MaxFileBytes)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		b.Files[name] = data
	}
	if len(b.Files) > MaxFiles {
		return nil, fmt.Errorf("%s: %d files is more than a bundle takes (%d)", dir, len(b.Files), MaxFiles)
	}
	return b, nil
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
		if h.Typeflag != tar.TypeReg || strings.ContainsAny(h.Name, `/\`) || h.Size > MaxFileBytes || len(b.Files) >= MaxFiles {
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
