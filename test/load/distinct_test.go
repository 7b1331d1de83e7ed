package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDistinctKeysStayWithinCacheBound runs the -distinct mode with a
// 1 MiB cache and 5,000 distinct keys of about 2 KB each (about 10 MiB of
// answers, 20 MiB counting the step cache's entries) and checks that the
// Go heap, after a GC, grew by less than 4× max_size: the cache evicts or
// refuses entries instead of keeping every answer for its minute.
func TestDistinctKeysStayWithinCacheBound(t *testing.T) {
	const maxSize, keys = 1 << 20, 5000
	cfg := config{
		distinct: true, cacheSize: "1MiB", requests: keys,
		workers: 8, maxWorkers: 8, timeout: 5 * time.Second,
		duration: time.Minute, // a slow -race run stops at the request count, not here
		json:     true,
	}
	rep := runReport[report](t, cfg)
	m, g := rep.Memory, rep.Gateway
	if m == nil || g == nil || rep.Direct != nil {
		js, _ := json.Marshal(rep)
		t.Fatalf("report %s; want a gateway summary and a memory part, no direct attack", js)
	}
	if g.Requests < keys || g.Success != 1 {
		t.Fatalf("gateway: %d requests, success %.3f; want at least %d, all successful (%v)", g.Requests, g.Success, keys, g.Errors)
	}
	if m.MaxSize != maxSize || m.Keys != g.Requests {
		t.Errorf("max size %d, keys %d; want %d and the %d requests sent", m.MaxSize, m.Keys, maxSize, g.Requests)
	}
	if m.AnswerBytes < 1900 || m.AllKept < 8*maxSize {
		t.Fatalf("answers of %d B, %d B in all; want about 2 KB each and at least 8× max_size, or the bound is not tested", m.AnswerBytes, m.AllKept)
	}
	if limit := m.HeapBefore + 4*maxSize; m.HeapAfter >= limit {
		t.Errorf("heap in use after GC: %d B (before the attack %d B), want below %d B (before + 4× max_size); keeping every answer would take %d B",
			m.HeapAfter, m.HeapBefore, limit, m.AllKept)
	}
	t.Logf("%d keys, %d B of answers; heap %d → %d B (%.2f× max_size)", m.Keys, m.AllKept, m.HeapBefore, m.HeapAfter, m.Growth)
	var text strings.Builder
	rep.writeText(&text)
	if !strings.Contains(text.String(), "distinct keys sent: ") || !strings.Contains(text.String(), "Go heap in use after GC") {
		t.Errorf("text report lacks the memory part:\n%s", text.String())
	}
}
