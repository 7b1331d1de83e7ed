package natstest

import (
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
