package connectors

import (
	"cmp"

	"github.com/manifoldgw/manifold/internal/workers"
)

// newWorkers is the pool that runs an upstream's shared calls, which
// belong to no caller and so need a goroutine of their own: on a fresh
// one, the call grows its stack two or three times through the stack
// (breaker, bulkhead, timeout, net/http), about a tenth of the gateway's
// CPU in the fan-out profile. The pool is sized as the connection pool:
// as many workers as the upstream keeps idle connections.
func newWorkers(cfg Config) *workers.Pool {
	return workers.New(cmp.Or(max(cfg.Concurrency, 0), DefaultIdleConns), 0)
}
