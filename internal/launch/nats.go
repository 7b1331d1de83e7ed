package launch

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/natsconn"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Shared is the one place a gateway's replica-wide features reach NATS
// through: the connection (shared by audit, the config bundle, the
// control plane, cluster rate limits and shared breakers), the cluster's
// name and this replica's id. Features take it from features.shared in
// assemble.
type Shared struct {
	// Conn is the gateway's NATS connection; nil when nats.url is off
	// and nothing needs NATS (audit off, no cluster).
	Conn *natsconn.Conn
	// Cluster is the cluster's name; "" when not in cluster mode.
	Cluster string
	// Replica identifies this process among the cluster's replicas (and in
	// audit events even outside a cluster): --replica, $MANIFOLD_REPLICA,
	// or the host name and a random suffix.
	Replica string
	// Started is when the replica started.
	Started time.Time

	// breakers is the cluster's store of shared breakers (cluster mode).
	breakers *connectors.SharedBreakers

	owned bool // Conn was opened here and is closed by close
	plan  atomic.Pointer[server.PlanInfo]
	// latest is the newest revision pushed to the cluster (bundle mode).
	latest atomic.Uint64
}

// Clustered reports whether the replica is part of a cluster.
func (s *Shared) Clustered() bool { return s != nil && s.Cluster != "" }

// openShared opens the gateway's NATS connection for plan, unless the
// caller passed one (opts.NATS: a replica whose plan comes from the
// cluster), and settles the cluster name and replica id. The connection
// is opened only when something uses it: audit, or cluster mode.
func openShared(plan *pipeline.Plan, opts Options, log *slog.Logger) (*Shared, error) {
	gw := plan.Gateway
	s := &Shared{Conn: opts.NATS, Replica: opts.Replica, Started: time.Now()}
	if s.Replica == "" {
		s.Replica = ReplicaID()
	}
	switch {
	case opts.Cluster != "":
		s.Cluster = opts.Cluster
	case gw.Cluster != nil:
		s.Cluster = gw.Cluster.Name
	}
	if s.Conn != nil {
		return s, nil
	}
	if s.Cluster != "" && (gw.NATS.URL == natsconn.Embedded || gw.NATS.URL == natsconn.Off) {
		file, n := gw.At("cluster")
		e := &yamlconf.Error{File: file, Key: "cluster",
			Msg: "cluster mode needs a NATS every replica reaches: set nats.url to nats:// URLs (or serve with --nats URL)"}
		if n != nil {
			if tok := n.GetToken(); tok != nil && tok.Position != nil {
				e.Line, e.Column = tok.Position.Line, tok.Position.Column
			}
		}
		return nil, e
	}
	if gw.Audit.NATS == natsconn.Off && s.Cluster == "" {
		return s, nil
	}
	conn, err := natsconn.Open(natsOptions(plan), log)
	if err != nil {
		return nil, err
	}
	s.Conn, s.owned = conn, true
	return s, nil
}

// natsOptions is the connection of gateway.yaml's nats section. The
// embedded server keeps its store beside the audit spool, in
// <audit.data_dir>/nats (relative to the pipeline directory).
func natsOptions(plan *pipeline.Plan) natsconn.Options {
	gw := plan.Gateway
	n := gw.NATS
	store := gw.Audit.DataDir
	if store != "" && !filepath.IsAbs(store) && plan.Dir != "" {
		store = filepath.Join(plan.Dir, store)
	}
	o := natsconn.Options{
		URL: n.URL, Listen: n.Listen, InProcess: n.InProcess, StoreDir: filepath.Join(store, "nats"),
		DefaultListen: n.Listen == "127.0.0.1:4222",
		Credentials:   n.Credentials, NKey: n.NKey, Token: n.Token,
	}
	if n.TLS != nil {
		o.TLSCA, o.TLSCert, o.TLSKey = n.TLS.CA, n.TLS.Cert, n.TLS.Key
	}
	return o
}

// close closes the connection if it was opened here.
func (s *Shared) close() {
	if s != nil && s.owned && s.Conn != nil {
		s.Conn.Close()
	}
}

// served records the plan now served: its bundle revision (0: from a
// directory) and hash.
func (s *Shared) served(plan *pipeline.Plan, revision uint64) {
	s.plan.Store(&server.PlanInfo{Revision: revision, Hash: bundle.PlanHash(plan), Replica: s.Replica, Cluster: s.Cluster})
}

// Plan says which plan is served, for /readyz.
func (s *Shared) Plan() server.PlanInfo {
	p := s.plan.Load()
	if p == nil {
		return server.PlanInfo{Replica: s.Replica, Cluster: s.Cluster}
	}
	out := *p
	out.Latest = s.latest.Load()
	return out
}

// stamp is the plan served, for audit events.
func (s *Shared) stamp() audit.PlanStamp {
	p := s.Plan()
	return audit.PlanStamp{Revision: p.Revision, Hash: p.Hash}
}

// metric is the plan served, for manifold_plan_info.
func (s *Shared) metric() telemetry.PlanInfo {
	p := s.Plan()
	return telemetry.PlanInfo{Revision: p.Revision, Hash: p.Hash, Replica: p.Replica, Cluster: p.Cluster}
}

// ReplicaID is a replica id for this process: $MANIFOLD_REPLICA, else
// the host name (a pod's name in Kubernetes) and four random hex digits,
// so that a restarted pod or two processes on one host differ.
func ReplicaID() string {
	if id := os.Getenv("MANIFOLD_REPLICA"); id != "" {
		return id
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "manifold"
	}
	host, _, _ = strings.Cut(host, ".")
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
