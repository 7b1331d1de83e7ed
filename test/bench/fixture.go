// Package bench holds Manifold's throughput benchmarks and the fan-out
// fixture they share with the load harness (test/load): four backends that
// answer a small fixed JSON document, and a pipeline directory, written as a
// template filled with the backends' URLs, whose one endpoint merges the
// four answers (KrakenD's classic benchmark shape).
//
//	go test -run='^$' -bench=. -benchmem -count=3 ./test/bench/
package bench

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing/fstest"
	"text/template"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// The fan-out endpoint of the fixture directory.
const (
	PipelineName = "fanOut"
	Path         = "/v1/fanout"
	// BackendPath is what every fixture backend serves.
	BackendPath = "/data"
)

// Backends are the names of the four upstreams, which are also the names of
// the pipeline's steps and so the keys of its merged answer.
func Backends() []string { return []string{"b1", "b2", "b3", "b4"} }

// Answer is the fixed JSON document that backend name answers.
func Answer(name string) []byte {
	return []byte(`{"backend":"` + name + `","ok":true,"items":[{"id":1,"name":"first"},{"id":2,"name":"second"},{"id":3,"name":"third"}]}`)
}

// Handler is backend name: GET BackendPath answers Answer(name) after
// latency (a timer, not a busy loop); a request whose context ends first is
// answered 503. Anything else is 404.
func Handler(name string, latency time.Duration) http.Handler {
	serve := JSON(Answer(name), latency)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != BackendPath || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

// JSON answers body as JSON, whatever the request, after latency (a
// timer, not a busy loop); a request whose context ends first is
// answered 503.
func JSON(body []byte, latency time.Duration) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})
}

// The directory's templates. Upstream timeouts and the bulkhead are set
// wide so that the gateway, not its limits, is what a benchmark measures;
// steps have no cache, and every request carries its own id so that no
// two concurrent upstream calls are coalesced unless the caller wants it.
var (
	gatewayTmpl = template.Must(template.New("gateway.yaml").Parse(`# Benchmark gateway: four upstreams on loopback.
server: {listen: "127.0.0.1:0", max_body: 1MiB}
upstreams:
{{- range .}}
  {{.Name}}: {url: "{{.URL}}", timeout: 2s, retries: 0, concurrency: 256}
{{- end}}
defaults: {access: public}
audit: {nats: "off"}
`))
	pipelineTmpl = template.Must(template.New("fan-out.yaml").Parse(`name: ` + PipelineName + `
summary: One request fanned out to four independent backends
description: The benchmark endpoint; its answer holds each backend's document under the backend's name.
method: GET
path: ` + Path + `
params:
  id: {in: query, type: string, default: "0", description: Request id passed on to every backend}
timeout: 3s
steps:
{{- range .}}
  {{.Name}}: {upstream: {{.Name}}, path: ` + BackendPath + `, query: {id: "${ .params.id }"}}
{{- end}}
`))
)

// Dir is the fixture's pipeline directory with urls (backend name to base
// URL) filled in. Every name of Backends must be present.
func Dir(urls map[string]string) (fstest.MapFS, error) {
	type upstream struct{ Name, URL string }
	var ups []upstream
	for _, name := range Backends() {
		u, ok := urls[name]
		if !ok {
			return nil, fmt.Errorf("bench: no URL for backend %q", name)
		}
		ups = append(ups, upstream{name, u})
	}
	fsys := fstest.MapFS{}
	for file, t := range map[string]*template.Template{gateway.File: gatewayTmpl, "fan-out.yaml": pipelineTmpl} {
		var b strings.Builder
		if err := t.Execute(&b, ups); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", file, err)
		}
		fsys[file] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys, nil
}

// Load loads and compiles the fixture directory for urls.
func Load(urls map[string]string) (*pipeline.Plan, error) {
	fsys, err := Dir(urls)
	if err != nil {
		return nil, err
	}
	return pipeline.Load(fsys, "bench", pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
}
