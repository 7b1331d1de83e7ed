package control

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// ServiceName is the services-API name every replica registers under, so
// that `nats micro ls` and `nats micro info manifold` list them all.
const ServiceName = "manifold"

// Metadata keys of the service registration (`nats micro info manifold`).
const (
	MetaCluster  = "cluster"
	MetaReplica  = "replica"
	MetaAddress  = "address"
	MetaRevision = "plan_revision"
	MetaHash     = "plan_hash"
)

// Endpoint names; each is served on Subject(cluster, name) by every replica
// of the cluster (no queue group: a request reaches them all).
const (
	EndpointStatus  = "status"
	EndpointReload  = "reload"
	EndpointPurge   = "purge"
	EndpointBreaker = "breaker"
)

// clusterName is what a cluster name may be: one subject token, the same
// alphabet the services API allows for names.
var clusterName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidCluster reports whether name can be a cluster name (it becomes a
// NATS subject token).
func ValidCluster(name string) error {
	if !clusterName.MatchString(name) {
		return fmt.Errorf("control: cluster name %q: use letters, digits, '-' and '_' only", name)
	}
	return nil
}

// Subject is the subject of a control endpoint of a cluster. Two clusters
// on one NATS never share one; NATS permissions on
// "manifold.control.<cluster>.>" decide who may act.
func Subject(cluster, endpoint string) string {
	return "manifold.control." + cluster + "." + endpoint
}

// Request is the body of every control request. It carries no secret: the
// admin key stays with the admin API that received the call.
type Request struct {
	// Origin is the replica (or "cli") that fans the action out; a replica
	// does not act on its own fan-out, which it has already done itself.
	Origin string `json:"origin"`
	// Purge is what the purge endpoint empties.
	Purge *PurgeScope `json:"purge,omitempty"`
	// Upstream and State are the breaker endpoint's upstream and its new
	// mode: open, closed or auto.
	Upstream string `json:"upstream,omitempty"`
	State    string `json:"state,omitempty"`
}

// PurgeScope is what a cache purge empties, as POST /cache/purge of the
// admin API takes it: exactly one of All, Pipeline and Upstream.
type PurgeScope struct {
	All      bool   `json:"all,omitempty"`
	Pipeline string `json:"pipeline,omitempty"`
	Upstream string `json:"upstream,omitempty"`
}

// Reply is one replica's answer to a control request.
type Reply struct {
	Replica string `json:"replica"`
	Address string `json:"address,omitempty"`
	// OK is false when the replica could not act; Error says why and Code
	// is the HTTP status the admin API would have answered.
	OK    bool   `json:"ok"`
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Result is what the action returned (the admin API's answer body),
	// or the replica's Status for the status endpoint.
	Result json.RawMessage `json:"result,omitempty"`
}

// Status is what a replica reports about itself.
type Status struct {
	Replica  string    `json:"replica"`
	Cluster  string    `json:"cluster"`
	Address  string    `json:"address"`
	Version  string    `json:"version"`
	Plan     Plan      `json:"plan"`
	Started  time.Time `json:"started"`
	UptimeS  float64   `json:"uptime_s"`
	InFlight int64     `json:"in_flight"`
	// OpenBreakers names the upstreams whose breaker is not closed, with
	// their state ("open" or "half-open").
	OpenBreakers []Breaker `json:"open_breakers"`
}

// Breaker is an upstream's breaker that is not closed.
type Breaker struct {
	Upstream string `json:"upstream"`
	State    string `json:"state"`
}

// Plan is the plan a replica serves.
type Plan struct {
	Revision string `json:"revision,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// Load is the replica's load and breakers, as its Local reports them.
type Load struct {
	InFlight     int64
	OpenBreakers []Breaker
}

// ActionError is a local action's refusal: Code is the HTTP status the
// admin API answers for it (400 bad request, 404 unknown upstream...) and
// Slug its problem type.
type ActionError struct {
	Code   int
	Slug   string
	Detail string
}

func (e *ActionError) Error() string { return e.Detail }

type originKey struct{}

// WithOrigin marks ctx as a request of another replica (or "cli"), which
// the local action names in its audit event.
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// OriginOf is the replica that asked for the action ctx serves, "" when
// it was asked on this replica.
func OriginOf(ctx context.Context) string {
	s, _ := ctx.Value(originKey{}).(string)
	return s
}
