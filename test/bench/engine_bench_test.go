package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Every benchmark has a serial variant (one request at a time: the latency
// of one fan-out) and a parallel one (GOMAXPROCS goroutines: throughput).
// Each request carries its own id, so that concurrent identical upstream
// calls are never coalesced into one. conns/op counts the TCP connections
// the servers accepted per operation: near 0 means keep-alive works and the
// numbers are not connection setup.

// BenchmarkEngineFanOut4 runs the fan-out pipeline on the engine alone, no
// HTTP in front: four upstream calls over loopback, the merge, the encoding.
func BenchmarkEngineFanOut4(b *testing.B) {
	f := newFanOut(b, nil)
	run := func(id int64) error {
		res, err := f.rt.Engine.Run(context.Background(), f.p, input(id))
		if err == nil && !res.Complete() {
			b.Errorf("incomplete answer: %v", res.Missing)
		}
		return err
	}
	benchmark(b, &f.backendConns, run)
}

// BenchmarkEngineFanOut4NoHTTP is the same run with in-memory upstreams
// that answer at once: what the engine itself costs (render, jq, decode,
// merge, encode), without connectors, resilience stack or network.
func BenchmarkEngineFanOut4NoHTTP(b *testing.B) {
	urls, conns := map[string]string{}, map[string]connectors.Connector{}
	for _, name := range Backends() {
		urls[name], conns[name] = "http://"+name+".invalid", fixed(Answer(name))
	}
	plan, err := Load(urls)
	if err != nil {
		b.Fatal(err)
	}
	e, p := pipeline.NewEngine(conns, pipeline.EngineOptions{}), plan.Pipeline(PipelineName)
	benchmark(b, nil, func(id int64) error {
		_, err := e.Run(context.Background(), p, input(id))
		return err
	})
}

// fixed is an upstream that answers body at once.
type fixed []byte

func (f fixed) Do(context.Context, *connectors.Request) (*connectors.Response, error) {
	return &connectors.Response{Status: http.StatusOK, Body: f, Attempts: 1}, nil
}

// BenchmarkGatewayFanOut4 is the same fan-out through the whole HTTP
// gateway (router, params, engine, answer), from an HTTP client.
func BenchmarkGatewayFanOut4(b *testing.B) {
	f := newFanOut(b, nil)
	var conns atomic.Int64
	gw := f.gateway(b, &conns)
	c := client(b)
	run := func(id int64) error {
		return expectOK(get(c, gw.URL+Path+"?id="+strconv.FormatInt(id, 10)))
	}
	benchmark(b, &conns, run)
}

// BenchmarkDirectBackend is one GET straight to one backend: the floor the
// gateway numbers are divided by.
func BenchmarkDirectBackend(b *testing.B) {
	var conns atomic.Int64
	srv := startCounting(b, Handler("b1", 0), &conns)
	c := client(b)
	run := func(id int64) error {
		return expectOK(get(c, srv.URL+BackendPath+"?id="+strconv.FormatInt(id, 10)))
	}
	benchmark(b, &conns, run)
}

// benchmark runs op serially and in parallel, with fresh ids, and reports
// allocations and, unless conns is nil, the connections accepted per
// operation.
func benchmark(b *testing.B, conns *atomic.Int64, op func(id int64) error) {
	var seq atomic.Int64
	if err := op(seq.Add(1)); err != nil { // warm the pools up
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		before := load(conns)
		for b.Loop() {
			if err := op(seq.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
		reportConns(b, conns, before)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		before := load(conns)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportConns(b, conns, before)
	})
}

func load(conns *atomic.Int64) int64 {
	if conns == nil {
		return 0
	}
	return conns.Load()
}

func reportConns(b *testing.B, conns *atomic.Int64, before int64) {
	if conns != nil {
		b.ReportMetric(float64(conns.Load()-before)/float64(b.N), "conns/op")
	}
}

func input(id int64) pipeline.Input {
	return pipeline.Input{Params: map[string]any{"id": strconv.FormatInt(id, 10)}}
}

type statusError int

func (e statusError) Error() string { return "status " + strconv.Itoa(int(e)) }

func expectOK(status int, _ []byte, err error) error {
	if err == nil && status != http.StatusOK {
		err = statusError(status)
	}
	return err
}

// TestFanOutPipelineAnswers checks that what the benchmarks measure is the
// real thing: the merged answer of four backends, called concurrently,
// over reused connections.
func TestFanOutPipelineAnswers(t *testing.T) {
	want := map[string]any{}
	for _, name := range Backends() {
		var v any
		if err := json.Unmarshal(Answer(name), &v); err != nil {
			t.Fatalf("Answer(%q) is not JSON: %v", name, err)
		}
		want[name] = v
	}
	check := func(t *testing.T, body []byte) {
		t.Helper()
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, body)
		}
		if !reflect.DeepEqual(got, any(want)) {
			t.Errorf("answer:\n got %s\nwant the four backends' documents under their names", body)
		}
	}

	t.Run("engine", func(t *testing.T) {
		f := newFanOut(t, nil)
		res, err := f.rt.Engine.Run(context.Background(), f.p, input(1))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		check(t, res.JSON)
		if !res.Complete() || len(res.Steps) != 4 {
			t.Errorf("Missing = %v, %d steps; want none missing, 4 steps", res.Missing, len(res.Steps))
		}
		for _, st := range res.Steps {
			if st.Calls != 1 || st.Status != http.StatusOK || st.URL != BackendPath+"?id=1" {
				t.Errorf("step %s: %d calls, status %d, URL %q; want 1 call, 200, %s?id=1", st.Name, st.Calls, st.Status, st.URL, BackendPath)
			}
		}
	})

	t.Run("gateway", func(t *testing.T) {
		f := newFanOut(t, nil)
		var conns atomic.Int64
		gw := f.gateway(t, &conns)
		status, body, err := get(client(t), gw.URL+Path+"?id=7")
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: status %d, err %v; want 200", Path, status, err)
		}
		check(t, body)
	})

	t.Run("steps run concurrently", func(t *testing.T) {
		// Each backend answers only once all four calls have arrived: a
		// serial engine would time out instead.
		var arrived sync.WaitGroup
		arrived.Add(len(Backends()))
		all := make(chan struct{})
		go func() { arrived.Wait(); close(all) }()
		barrier := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Done()
				select {
				case <-all:
					h.ServeHTTP(w, r)
				case <-time.After(2 * time.Second):
					w.WriteHeader(http.StatusGatewayTimeout)
				}
			})
		}
		f := newFanOut(t, barrier)
		res, err := f.rt.Engine.Run(context.Background(), f.p, input(1))
		if err != nil {
			t.Fatalf("Run: %v (the four calls were not in flight together)", err)
		}
		check(t, res.JSON)
	})

	t.Run("connections are reused", func(t *testing.T) {
		f := newFanOut(t, nil)
		var gwConns atomic.Int64
		gw := f.gateway(t, &gwConns)
		c := client(t)
		const runs = 20
		for i := range runs {
			if err := expectOK(get(c, gw.URL+Path+"?id="+strconv.Itoa(i))); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if got := gwConns.Load(); got != 1 {
			t.Errorf("gateway accepted %d connections for %d serial requests; want 1", got, runs)
		}
		if got, want := f.backendConns.Load(), int64(len(Backends())); got != want {
			t.Errorf("backends accepted %d connections for %d serial runs; want %d (one each)", got, runs, want)
		}
	})
}
