package telemetry

import (
	"net/http"

	"github.com/manifoldgw/manifold/internal/server"
)

// Surface mounts GET /metrics (Prometheus text format) beside the
// pipelines. It mounts nothing when telemetry.prometheus is false.
func (t *Telemetry) Surface() server.Surface { return metricsSurface{t.handler} }

type metricsSurface struct{ h http.Handler }

// Mount implements server.Surface.
func (m metricsSurface) Mount(mux *http.ServeMux, _ *server.Server, _ *server.Runtime) error {
	if m.h != nil {
		mux.Handle("GET /metrics", m.h)
	}
	return nil
}
