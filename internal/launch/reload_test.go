package launch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
)

func TestRelevantChanges(t *testing.T) {
	cases := []struct {
		name string
		ev   fsnotify.Event
		want bool
	}{
		{"pipeline written", fsnotify.Event{Name: "/d/city-deals.yaml", Op: fsnotify.Write}, true},
		{"yml created by a rename", fsnotify.Event{Name: "/d/a.yml", Op: fsnotify.Create}, true},
		{"pipeline removed", fsnotify.Event{Name: "/d/a.yaml", Op: fsnotify.Remove}, true},
		{"only its mode", fsnotify.Event{Name: "/d/a.yaml", Op: fsnotify.Chmod}, false},
		{"editor swap file", fsnotify.Event{Name: "/d/.a.yaml.swp", Op: fsnotify.Write}, false},
		{"hidden yaml", fsnotify.Event{Name: "/d/.a.yaml", Op: fsnotify.Write}, false},
		{"backup", fsnotify.Event{Name: "/d/a.yaml~", Op: fsnotify.Create}, false},
		{"other file", fsnotify.Event{Name: "/d/README.md", Op: fsnotify.Write}, false},
		{"ConfigMap swap", fsnotify.Event{Name: "/d/..data", Op: fsnotify.Create}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := relevant(c.ev); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestRestartNeeded(t *testing.T) {
	base := func() *gateway.Config {
		return &gateway.Config{
			Server:    gateway.Server{Listen: ":9080", MaxBody: 1 << 20},
			Admin:     gateway.Admin{Listen: "127.0.0.1:9180", Key: "k"},
			Telemetry: gateway.Telemetry{ServiceName: "manifold", LogLevel: "info"},
			Upstreams: map[string]*gateway.Upstream{"a": {URL: "http://a"}},
		}
	}
	cases := []struct {
		name   string
		change func(*gateway.Config)
		want   []string
	}{
		{"nothing", func(*gateway.Config) {}, nil},
		{"reloadable: upstreams, body limit, log level", func(g *gateway.Config) {
			g.Upstreams["b"] = &gateway.Upstream{URL: "http://b"}
			g.Server.MaxBody = 2 << 20
			g.Telemetry.LogLevel = "debug"
		}, nil},
		{"listener and admin key", func(g *gateway.Config) {
			g.Server.Listen = ":8080"
			g.Admin.Key = "other"
		}, []string{"server.listen", "admin.key"}},
		{"consumers apply, telemetry does not", func(g *gateway.Config) {
			g.Consumers = map[string]*gateway.Consumer{"c": {}}
			g.Telemetry.OTLPEndpoint = "http://collector:4318"
		}, []string{"telemetry.otlp_endpoint"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := base()
			c.change(next)
			if got := restartNeeded(base(), next); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSetLevelFollowsGatewayYAML(t *testing.T) {
	lv := new(slog.LevelVar)
	plan := &pipeline.Plan{Gateway: &gateway.Config{Telemetry: gateway.Telemetry{LogLevel: "debug"}}}
	setLevel(lv, plan)
	if lv.Level() != slog.LevelDebug {
		t.Errorf("level %v, want debug", lv.Level())
	}
	setLevel(nil, plan) // --log-level given: nothing to follow
	plan.Gateway.Telemetry.LogLevel = ""
	setLevel(lv, plan)
	if lv.Level() != slog.LevelDebug {
		t.Errorf("an unset log_level changed the level to %v", lv.Level())
	}
}

// TestReloadReportsAndAudits reloads a broken directory, then a good one:
// each reload is in the status, the metrics and an admin audit event.
func TestReloadReportsAndAudits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("gateway.yaml", "upstreams:\n  a: {url: \"http://127.0.0.1:1\"}\n")
	write("p.yaml", "name: p\npath: /p\nsteps:\n  s: {upstream: a, path: /}\n")
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.New(context.Background(), plan.Gateway.Telemetry, telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := server.New(rt, server.Options{})
	var audited []map[string]any
	r := &reloader{
		load: func() (*pipeline.Plan, error) { return pipeline.LoadDir(dir, pipeline.LoadOptions{}) },
		srv:  gw, log: slog.New(slog.DiscardHandler), metrics: tel.Metrics, drain: time.Second,
		audit: func(_ context.Context, action string, details map[string]any) error {
			if action == "reload" {
				audited = append(audited, details)
			}
			return nil
		},
	}
	write("q.yaml", "name: q\npath: /q\nsteps:\n  s: {upstream: nowhere, path: /}\n")
	st := r.Reload(context.Background(), "admin")
	if st.OK || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "q.yaml:4:") || gw.Runtime() != rt {
		t.Errorf("broken reload: %+v, want one located error and the old Runtime serving", st)
	}
	write("q.yaml", "name: q\npath: /q\nsteps:\n  s: {upstream: a, path: /}\n")
	st = r.Reload(context.Background(), "signal")
	if !st.OK || !slices.Equal(st.Added, []string{"q"}) || !slices.Equal(st.Kept, []string{"a"}) || gw.Runtime() == rt {
		t.Errorf("good reload: %+v, want q added, a kept, a new Runtime", st)
	}
	r.wait()
	gw.Runtime().Close()
	if len(audited) != 2 || audited[0]["ok"] != false || audited[1]["ok"] != true || audited[1]["trigger"] != "signal" {
		t.Errorf("audited %v, want a failed then a successful reload", audited)
	}
}
