package refusal

import (
	"sync"
	"testing"
)

func TestCountsPerBound(t *testing.T) {
	var c Counts
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(2)
		go func() { defer wg.Done(); c.Add("graphql.max_query_bytes") }()
		go func() { defer wg.Done(); c.Add("mcp.max_sessions") }()
	}
	wg.Wait()
	c.Add("mcp.max_sessions")
	got := map[string]int64{}
	c.Each(func(name string, n int64) { got[name] = n })
	if got["graphql.max_query_bytes"] != 50 || got["mcp.max_sessions"] != 51 || len(got) != 2 {
		t.Fatalf("counts = %v, want graphql.max_query_bytes=50 mcp.max_sessions=51", got)
	}
	var none *Counts
	none.Add("x") // a nil Counts counts nothing and does not panic
	if none.Get("x") != 0 {
		t.Fatal("a nil Counts reported a refusal")
	}
}
