package natstest

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterReplicatesAndSurvivesANode: a stream with 3 replicas on a
// 3-node cluster takes writes through any node, and still does while one
// node is down and after it comes back.
func TestClusterReplicatesAndSurvivesANode(t *testing.T) {
	c := StartCluster(t, 3)
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: 3}); err != nil {
		t.Fatalf("stream with 3 replicas: %v", err)
	}
	publish := func(n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; i < n; {
			if _, err := js.Publish(ctx, "s.x", []byte("x")); err != nil {
				if time.Now().After(deadline) {
					t.Fatalf("publish: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			i++
		}
	}
	publish(5)
	c.Nodes[0].Stop()
	publish(5)
	c.Nodes[0].Start()
	c.WaitJetStream(t)
	publish(5)
	s, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != 15 {
		t.Fatalf("stream holds %d messages, want 15", got)
	}
}

// TestTakenPortFailsFast: a node whose port another process took since it
// was chosen fails at once with the server's reason, and Server then
// starts on fresh ports instead.
func TestTakenPortFailsFast(t *testing.T) {
	hold := Server(t) // its client port is taken from now on
	n := &Node{t: t, opts: hold.opts}
	n.opts.StoreDir = t.TempDir()
	start := time.Now()
	err := n.start()
	if err == nil {
		n.Stop()
		t.Fatal("a node started on a port another server listens on")
	}
	if !strings.Contains(err.Error(), "Error listening on port") || time.Since(start) > readyTimeout/2 {
		t.Fatalf("after %s: %v; want the listen error at once", time.Since(start), err)
	}
	if p := freePort(t); p >= ephemeralLow() {
		t.Fatalf("freePort gave %d, inside the ephemeral range", p)
	}
}
