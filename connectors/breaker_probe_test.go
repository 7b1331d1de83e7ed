package connectors

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// An open breaker whose cooldown ends within probeEarly is claimed now,
// and both the winner's state and the claim are half-open: gobreaker,
// which reads the clock again after GetData, must never find an open
// state expired in between and let a second, unclaimed probe through.
// Further from its expiry, the open state is left as it is.
func TestProbeClaimLeavesGobreakerNoExpiry(t *testing.T) {
	now := time.Now()
	entry := func(expiry time.Time) sharedEntry {
		st := gobreaker.SharedState{State: gobreaker.StateOpen, Generation: 7, Expiry: expiry, Buckets: make([]gobreaker.Counts, 1)}
		data, _ := json.Marshal(st)
		return sharedEntry{data: data, st: st}
	}
	if s, c := probeClaim(entry(now.Add(time.Second)), now, time.Minute); s != nil || c != nil {
		t.Errorf("a breaker open for another second was claimed: %s", c)
	}
	snapshot, claim := probeClaim(entry(now.Add(probeEarly/2)), now, time.Minute)
	if snapshot == nil || claim == nil {
		t.Fatal("a breaker whose cooldown ends within probeEarly was not claimed")
	}
	for name, data := range map[string][]byte{"the winner's state": snapshot, "the claim": claim} {
		var st gobreaker.SharedState
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if st.State != gobreaker.StateHalfOpen || st.Generation != 8 {
			t.Errorf("%s is %s generation %d, want half-open generation 8", name, st.State, st.Generation)
		}
	}
	var won gobreaker.SharedState
	_ = json.Unmarshal(snapshot, &won)
	if won.Counts.Requests != 0 {
		t.Errorf("the winner's state counts %d requests, want its probe free", won.Counts.Requests)
	}
}
