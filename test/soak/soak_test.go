package soak

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"
)

var (
	soakFor  = flag.Duration("soak", 0, "soak for this long with 100 hot reloads (0: a short run with 10, as go test ./... runs it)")
	soakRate = flag.Int("soak-rate", 100, "requests per second during the soak")
)

// warmReloads are the reloads of the warm-up, before the baseline.
const warmReloads = 4

// config is one soak's size.
type config struct {
	Duration time.Duration `json:"duration"`
	Reloads  int           `json:"reloads"`
	Rate     int           `json:"rate"`
	Flaps    int           `json:"backend_flaps"`
}

func soakConfig() config {
	if *soakFor > 0 {
		return config{Duration: *soakFor, Reloads: 100, Rate: *soakRate, Flaps: 2}
	}
	return config{Duration: 8 * time.Second, Reloads: 10, Rate: min(*soakRate, 50), Flaps: 1}
}

// report is what a soak prints (-v) for the README.
type report struct {
	Config   config `json:"config"`
	Warmup   tally  `json:"warmup"`
	Load     tally  `json:"load"`
	Events   int    `json:"audit_call_events"`
	Lost     int    `json:"audit_events_lost"`
	Extra    int    `json:"audit_events_extra"`
	Reloads  int    `json:"audit_reload_events"`
	Baseline usage  `json:"baseline"`
	End      usage  `json:"end"`
	HeldIDs  uint64 `json:"request_id_bytes_held"`
}

// TestSoak runs the demo under steady load while it reloads its pipeline
// directory (100 times with -soak), the audit NATS server restarts, and
// the deals backend goes down and comes back. No request may fail by the
// gateway's fault (a backend-blamed 502/503/504 while deals is down is
// right), every answered request has exactly one audit event, and the
// heap and goroutines come back within 10% of the baseline taken after a
// warm-up.
func TestSoak(t *testing.T) {
	cfg := soakConfig()
	if *profileDir != "" {
		runtime.MemProfileRate = 4096 // finer than the default 512 KiB, to compare baseline and end
	}
	st := startStack(t)
	rep := report{Config: cfg}

	// The warm-up calls every target four times and reloads warmReloads
	// times: the baseline then holds the caches and the plans of the
	// steady state (the one Serve started with, and the OpenAPI surface
	// keeps the documents of the last 4 plans for requests in flight).
	warm := startLoad(st.base, cfg.Rate)
	warm.waitAnswered(int64(2*len(targets(st.base))), 30*time.Second)
	for i := range warmReloads {
		st.reload(t, 1+i)
	}
	warm.waitAnswered(int64(2*len(targets(st.base))), 30*time.Second)
	rep.Warmup = warm.stop()
	t.Logf("phase: warm-up done")
	rep.Baseline = settled()
	t.Logf("phase: baseline taken")
	profile(t, "baseline")

	l := startLoad(st.base, cfg.Rate)
	chaos(t, st, l, cfg)
	rep.Load = l.stop()
	t.Logf("phase: load stopped; waiting for cityDeals to be served again")
	last := st.servedAgain(t)
	t.Logf("phase: served again")

	rep.HeldIDs = uint64(cap(warm.ids)+cap(l.ids)+cap(last)) * uint64(unsafe.Sizeof(requestID{}))
	end, ok := backToBaseline(t, rep.Baseline, rep.HeldIDs)
	rep.End = end
	profile(t, "end")
	t.Logf("phase: measured the end")

	ids := slices.Concat(warm.ids, l.ids, last)
	ev := readEvents(t, st.nats.URL(), len(ids)+warmReloads+cfg.Reloads)
	rep.Events, rep.Reloads = len(ev.calls), ev.reloads
	rep.Lost, rep.Extra = ev.check(ids)
	out, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("soak report:\n%s", out)
	rep.check(t, ev, slices.Concat(warm.failures, l.failures))
	if !ok {
		t.Errorf("heap and goroutines not back within 10%% of the baseline after 75s: %+v, baseline %+v (%d bytes held by the test)",
			end, rep.Baseline, rep.HeldIDs)
	}
}

// check fails t for requests failed by the gateway, a flap no request
// saw, and audit events lost, duplicated or unexpected.
func (rep report) check(t *testing.T, ev events, failures []string) {
	t.Helper()
	if n := rep.Warmup.Gateway + rep.Load.Gateway; n > 0 {
		t.Errorf("%d requests failed by the gateway itself; first: %q", n, failures)
	}
	if rep.Load.Backend[flapped] == 0 {
		t.Errorf("no answer blamed the %s backend while it was down: the flap proved nothing", flapped)
	}
	if rep.Lost > 0 || rep.Extra > 0 {
		t.Errorf("audit: %d requests without an event, %d events extra (duplicates or unknown)", rep.Lost, rep.Extra)
	}
	if want := warmReloads + rep.Config.Reloads; ev.reloads != want || len(ev.other) > 0 {
		t.Errorf("audit: %d reload events for %d reloads; other events: %q", ev.reloads, want, ev.other)
	}
}

// chaos makes the soak's disturbances on a schedule spread over
// cfg.Duration while the load runs, and returns at its end: the reloads
// evenly, the NATS restart at 25% (down for 10% of the run, at most 10s),
// and the backend flaps from the middle on, each down until 5 answers
// blamed it.
func chaos(t *testing.T, st *stack, l *load, cfg config) {
	type action struct {
		at time.Duration
		do func()
	}
	var plan []action
	at := func(f float64) time.Duration { return time.Duration(f * float64(cfg.Duration)) }
	for i := 1; i <= cfg.Reloads; i++ {
		plan = append(plan, action{at(float64(i) / float64(cfg.Reloads+1)), func() { st.reload(t, warmReloads+i) }})
	}
	plan = append(plan,
		action{at(0.25), st.nats.Stop},
		action{at(0.25) + min(at(0.1), 10*time.Second), func() { st.nats.Start() }},
		action{at(1), func() {}})
	for i := range cfg.Flaps {
		plan = append(plan, action{at(0.5 + 0.25*float64(i)), func() {
			st.deals.down()
			l.waitBlamed(5, 15*time.Second) // down until the load saw it
			st.deals.up()
		}})
	}
	slices.SortStableFunc(plan, func(a, b action) int { return int(a.at - b.at) })
	start := time.Now()
	for _, a := range plan {
		if wait := time.Until(start.Add(a.at)); wait > 0 {
			time.Sleep(wait) // the schedule's pace, not a synchronization
		}
		a.do()
	}
	if l.answered.Load() == 0 {
		t.Fatal("the load got no answer")
	}
}

// servedAgain waits until cityDeals, which needs the flapped backend,
// answers 200 again: its breaker closes after the cooldown (15s). It
// returns the request ids of its calls, which have their audit events too.
func (st *stack) servedAgain(t *testing.T) (ids []requestID) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(st.base + "/v1/cities/Berlin/deals?limit=20")
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if id, err := hex.DecodeString(resp.Header.Get("Manifold-Request-Id")); err == nil && len(id) == len(requestID{}) {
				ids = append(ids, requestID(id))
			}
			if resp.StatusCode == http.StatusOK {
				return ids
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cityDeals not served again 30s after the %s backend came back: %v %s %v", flapped, resp, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
