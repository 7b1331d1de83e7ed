package telemetry

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// PlanInfo is what manifold_plan_info reports: the plan a replica serves.
type PlanInfo struct {
	Revision uint64 // the cluster bundle's revision (0: from a directory)
	Hash     string
	Replica  string
	Cluster  string
}

// WatchPlan sets where manifold_plan_info reads from.
func (ms *Metrics) WatchPlan(f func() PlanInfo) { ms.plan.Store(&f) }

// observePlan reports 1 with the served plan's revision, hash, replica and
// cluster as attributes: one series per replica, joinable in queries.
func (ms *Metrics) observePlan(o metric.Int64Observer) {
	f := ms.plan.Load()
	if f == nil {
		return
	}
	p := (*f)()
	o.Observe(1, metric.WithAttributes(
		attribute.String("revision", strconv.FormatUint(p.Revision, 10)), attribute.String("hash", p.Hash),
		attribute.String("replica", p.Replica), attribute.String("cluster", p.Cluster)))
}
