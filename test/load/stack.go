package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/pipelines"
	"github.com/manifoldgw/manifold/test/bench"
)

// stack is what a run attacks: the gateway and the backends behind it,
// running in this process.
type stack struct {
	mode, pipeline  string
	gateway, direct *target
	closers         []func(context.Context) error
	audit           bool    // the gateway publishes audit events
	interleave      bool    // -proxy: the two targets are attacked in turn
	mem             *memory // -distinct: the memory part of the report
}

// target is one attacked endpoint; url gives the URL of the n-th request.
type target struct {
	name string
	url  func(n uint64) string
}

func (t *target) example() string { return t.url(0) }

// startFanOut starts the four fixture backends and the gateway serving the
// fixture's fan-out pipeline (test/bench).
func startFanOut(latency time.Duration, same, audit bool) (_ *stack, err error) {
	st := &stack{mode: "fanout", pipeline: bench.PipelineName, audit: audit}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	urls := map[string]string{}
	for _, name := range bench.Backends() {
		if urls[name], err = st.listen(bench.Handler(name, latency)); err != nil {
			return nil, fmt.Errorf("backend %s: %w", name, err)
		}
	}
	plan, err := bench.Load(urls)
	if err != nil {
		return nil, err
	}
	gw, err := st.startGateway(plan)
	if err != nil {
		return nil, err
	}
	id := func(n uint64) string {
		if same {
			n = 0
		}
		return strconv.FormatUint(n, 10)
	}
	st.gateway = &target{"gateway", func(n uint64) string { return gw + bench.Path + "?id=" + id(n) }}
	st.direct = &target{"direct", func(n uint64) string { return urls["b1"] + bench.BackendPath + "?id=" + id(n) }}
	return st, nil
}

// startDemo starts the demo backends and the gateway serving the embedded
// demo pipelines, as `manifold demo` does.
func startDemo(latency time.Duration, same, audit bool) (_ *stack, err error) {
	st := &stack{mode: "demo", pipeline: "cityDeals", audit: audit}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	b, err := demo.Start(demo.Options{Latency: latency})
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, b.Shutdown)
	env := b.Env()
	plan, err := pipeline.Load(pipelines.FS, "pipelines", pipeline.LoadOptions{LookupEnv: func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}})
	if err != nil {
		return nil, err
	}
	gw, err := st.startGateway(plan)
	if err != nil {
		return nil, err
	}
	cities := []string{"Berlin", "Hamburg", "Madrid", "Paris"} // requests go round them
	city := func(n uint64) string {
		if same {
			n = 0
		}
		return cities[n%uint64(len(cities))]
	}
	st.gateway = &target{"gateway", func(n uint64) string { return gw + "/v1/cities/" + city(n) + "/deals" }}
	st.direct = &target{"direct", func(n uint64) string { return b.Markets + "/markets?limit=5&city=" + city(n) }}
	return st, nil
}

// startGateway serves plan on loopback the way `manifold serve` does and
// returns its base URL.
func (st *stack) startGateway(plan *pipeline.Plan) (string, error) {
	log := slog.New(slog.DiscardHandler) // failures under overload show in the report
	rt, err := server.Build(plan, log)
	if err != nil {
		return "", err
	}
	st.closers = append(st.closers, func(context.Context) error { rt.Close(); return nil })
	opts := server.Options{Logger: log}
	if st.audit {
		if opts.Recorder, err = st.startAudit(plan, log); err != nil {
			return "", err
		}
	}
	srv := server.NewHTTPServer(server.New(rt, opts), log)
	return st.serve(srv)
}

// listen serves h on a loopback port, as a backend, and returns its URL.
func (st *stack) listen(h http.Handler) (string, error) {
	return st.serve(&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute})
}

func (st *stack) serve(srv *http.Server) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	st.closers = append(st.closers, func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	})
	return "http://" + ln.Addr().String(), nil
}

// close stops everything, the last started first.
func (st *stack) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := len(st.closers) - 1; i >= 0; i-- {
		_ = st.closers[i](ctx)
	}
}

// probe sends one request to each target and fails unless both answer 200,
// so that an attack never measures a broken setup. It uses request 0,
// which an attack never sends (its first is 1). In -distinct mode it also
// checks that the response cache works and measures the answers.
func (st *stack) probe(ctx context.Context) error {
	if err := st.probeTargets(ctx, []*target{st.gateway, st.direct}); err != nil {
		return err
	}
	if st.mem != nil {
		return st.mem.probeAnswers(st.gateway.url(0), st.direct.url(0))
	}
	return nil
}

// probeTargets sends request 0 to each of ts and fails unless all answer
// 200.
func (st *stack) probeTargets(ctx context.Context, ts []*target) error {
	for _, t := range ts {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(0), nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("probing %s: %w", t.name, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("probing %s: %s answered %d: %s", t.name, req.URL, resp.StatusCode, body)
		}
	}
	return nil
}
