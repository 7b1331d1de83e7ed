package bundle

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

func demoEnv(name string) (string, bool) { return "http://127.0.0.1:1", true }

// TestCollectDemo: the demo directory's bundle holds what the loader
// reads (the upstreams' OpenAPI documents in openapi/ included, the test
// files not), loads as the directory does, and survives encoding.
func TestCollectDemo(t *testing.T) {
	lo := pipeline.LoadOptions{LookupEnv: demoEnv}
	b, err := Collect("../../pipelines", func(fsys fs.FS) error { _, err := pipeline.Load(fsys, "pipelines", lo); return err })
	if err != nil {
		t.Fatal(err)
	}
	if b.Files["openapi/products.yaml"] == nil || b.Files["gateway.yaml"] == nil || b.Files["city-deals.test.yaml"] != nil || b.Files["embed.go"] != nil {
		t.Errorf("bundle files: %v", names(b))
	}
	b.Meta = Meta{PushedBy: "me@here", Source: "pipelines"}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != len(b.Files) || got.Meta.PushedBy != "me@here" {
		t.Fatalf("decoded %v, meta %+v", names(got), got.Meta)
	}
	fromBundle, err := pipeline.Load(got.FS(), "", lo)
	if err != nil {
		t.Fatalf("the bundle does not load: %v", err)
	}
	fromDir, _ := pipeline.LoadDir("../../pipelines", lo)
	if PlanHash(fromBundle) != PlanHash(fromDir) {
		t.Errorf("plan hash from the bundle %s, from the directory %s", PlanHash(fromBundle), PlanHash(fromDir))
	}
	if _, err := Decode([]byte("not a bundle")); err == nil {
		t.Error("Decode accepted garbage")
	}
}

func names(b *Bundle) []string {
	var out []string
	for n := range b.Files {
		out = append(out, n)
	}
	return out
}

// TestStore: pushes are revisions, a watch sees each one, and a rollback
// stores an earlier one again as the newest.
func TestStore(t *testing.T) {
	srv := natstest.Server(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Open(ctx, js, "t"); err != ErrNoBundle {
		t.Fatalf("Open before any push: %v, want ErrNoBundle", err)
	}
	s, err := Create(ctx, js, "t")
	if err != nil {
		t.Fatal(err)
	}
	push := func(v string) uint64 {
		rev, err := s.Push(ctx, nc, &Bundle{Files: map[string][]byte{"gateway.yaml": []byte(v)}})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	r1 := push("v1")
	updates, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-updates; got.Revision != r1 {
		t.Fatalf("watch starts at %d, want %d", got.Revision, r1)
	}
	r2 := push("v2")
	if got := <-updates; got.Revision != r2 || string(got.Bundle.Files["gateway.yaml"]) != "v2" {
		t.Fatalf("watch saw %d, want %d with v2", got.Revision, r2)
	}
	r3, err := s.Rollback(ctx, nc, r1, Meta{PushedBy: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := s.Get(ctx, 0)
	if err != nil || latest.Revision != r3 || string(latest.Bundle.Files["gateway.yaml"]) != "v1" || latest.Bundle.Meta.RollbackFrom != r1 {
		t.Fatalf("after rollback: %+v, %v", latest, err)
	}
	if _, err := s.Get(ctx, 999); err == nil {
		t.Error("Get of a revision never pushed succeeded")
	}
	hist, err := s.History(ctx)
	if err != nil || len(hist) != 3 {
		t.Errorf("history: %d revisions, %v", len(hist), err)
	}
}
