package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/redact"
)

func load(t *testing.T, gateway string) *pipeline.Plan {
	t.Helper()
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n" + gateway)},
		"p.yaml":       {Data: []byte("name: p\npath: /p\nsteps:\n  s: {upstream: api, path: /}\n")},
	}
	plan, err := pipeline.Load(fsys, "dir", pipeline.LoadOptions{LookupEnv: func(name string) (string, bool) {
		v, ok := map[string]string{"NATS_URL": "nats://user:s3cret@nats.internal:4222", "NATS_CREDS": "/run/secrets/nats.creds"}[name]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return plan
}

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, c Config)
	}{
		{"defaults", "", func(t *testing.T, c Config) {
			if c.NATS != Embedded || c.DataDir != filepath.Join("/srv/gw", "data") || c.Listen != "127.0.0.1:4222" || !c.DefaultListen ||
				c.Stream != "MANIFOLD_AUDIT" || c.Subject != "manifold.audit" || c.Replicas != 1 || c.QueueSize != 8192 {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{"absolute data_dir", "audit: {data_dir: /var/lib/manifold}\n", func(t *testing.T, c Config) {
			if c.DataDir != "/var/lib/manifold" {
				t.Errorf("DataDir = %q", c.DataDir)
			}
		}},
		{"external from the environment", "audit: {nats: \"${NATS_URL}\", credentials: \"${NATS_CREDS}\", replicas: 3, max_age: 72h, max_bytes: 10GiB}\n", func(t *testing.T, c Config) {
			if c.NATS != "nats://user:s3cret@nats.internal:4222" || c.Credentials != "/run/secrets/nats.creds" || c.Replicas != 3 ||
				c.MaxAge.Hours() != 72 || c.MaxBytes != 10<<30 {
				t.Errorf("config = %+v", c)
			}
			if got := redact.URLs(c.NATS); strings.Contains(got, "s3cret") || strings.Contains(got, "user") || !strings.Contains(got, "nats.internal:4222") {
				t.Errorf("redacted URL %q", got)
			}
		}},
		{"chosen listen", "audit: {listen: \"127.0.0.1:4333\"}\n", func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:4333" || c.DefaultListen {
				t.Errorf("listen = %q, default %v", c.Listen, c.DefaultListen)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := load(t, tc.yaml).Gateway
			tc.check(t, From(gw.Audit, gw.Server.PublicURL, "/srv/gw"))
		})
	}
}

func TestInvalidAuditConfig(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"public listener", "audit: {listen: \"0.0.0.0:4222\"}\n", "audit.listen"},
		{"bad subject", "audit: {subject: \"manifold.>\"}\n", "audit.subject"},
		{"replicas", "audit: {replicas: 7}\n", "audit.replicas"},
		{"in_process with external", "audit: {nats: \"nats://x:4222\", in_process: true}\n", "audit.in_process"},
		{"tls half", "audit: {nats: \"tls://x:4222\", tls: {cert: a.pem}}\n", "audit.tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"gateway.yaml": {Data: []byte("upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n" + tc.yaml)},
				"p.yaml":       {Data: []byte("name: p\npath: /p\nsteps:\n  s: {upstream: api, path: /}\n")},
			}
			_, err := pipeline.Load(fsys, "dir", pipeline.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("load: %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestStartNeedsAWritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{DataDir: file, InProcess: true}, nil)
	if err == nil {
		t.Fatal("Start with a file as data_dir succeeded")
	}
	if _, err := Start(context.Background(), Config{NATS: Off, DataDir: t.TempDir()}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("Start with nats off: %v, want ErrConfig", err)
	}
}
