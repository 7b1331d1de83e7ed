package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Local is what a replica does when the cluster asks: the same actions as
// its admin API, on its own plan, cache and breakers. An action refused
// for a reason the caller should know (unknown upstream, bad state)
// returns an *ActionError.
type Local interface {
	// Load is the replica's requests in flight and breakers not closed.
	Load(ctx context.Context) Load
	// Reload reloads the plan now; the result is the admin API's answer.
	Reload(ctx context.Context) (any, error)
	// Purge empties the cache as scope says.
	Purge(ctx context.Context, scope PurgeScope) (any, error)
	// ForceBreaker sets an upstream's breaker to open, closed or auto.
	ForceBreaker(ctx context.Context, upstream, state string) (any, error)
}

// Config is one replica's control service.
type Config struct {
	Cluster string // cluster name (cluster.name of gateway.yaml)
	Replica string // this replica's id, unique in the cluster
	Address string // where the replica serves, for operators
	Version string // the binary's version; not SemVer becomes 0.0.0-<it>
	// Plan reports the revision and hash of the plan being served; nil
	// reports none. It is read at each status request, and every
	// RefreshEvery for the registration's metadata, from other goroutines:
	// it must be safe for concurrent use.
	Plan  func() Plan
	Local Local
	// ActionTimeout bounds one local action (a reload builds a plan); 0
	// means DefaultActionTimeout.
	ActionTimeout time.Duration
	// RefreshEvery is how often a changed plan updates the metadata `nats
	// micro info` shows; 0 means DefaultRefresh.
	RefreshEvery time.Duration
	// Fanout is how the replica's Client (see Service.Client) fans the
	// admin API's actions out; Origin and Address are the replica's.
	Fanout ClientOptions
	Logger *slog.Logger
}

// pendingMsgs and pendingBytes bound the requests an endpoint holds
// while it acts on one: a flood of control requests costs a replica at
// most this much memory, the rest are dropped (and reported to the
// ErrorHandler as a slow consumer).
const (
	pendingMsgs  = 64
	pendingBytes = 1 << 20
)

// Defaults of Config.
const (
	DefaultActionTimeout = time.Minute
	DefaultRefresh       = 2 * time.Second
)

// Service is a replica's registration in the NATS services API, serving
// the control endpoints. Stop it before closing the connection.
type Service struct {
	nc      *nats.Conn
	cfg     Config
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	done    sync.WaitGroup

	client *Client

	mu   sync.Mutex
	svc  micro.Service
	plan Plan // the plan in svc's metadata
}

// Start registers the replica's control service on nc and keeps its
// metadata up to date with the plan until Stop.
func Start(nc *nats.Conn, cfg Config) (*Service, error) {
	if err := ValidCluster(cfg.Cluster); err != nil {
		return nil, err
	}
	if cfg.Replica == "" || cfg.Local == nil {
		return nil, errors.New("control: a replica id and its local actions are required")
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = DefaultActionTimeout
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = DefaultRefresh
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Plan == nil {
		cfg.Plan = func() Plan { return Plan{} }
	}
	s := &Service{nc: nc, cfg: cfg, started: time.Now()}
	fan := cfg.Fanout
	fan.Origin, fan.Address = cfg.Replica, cfg.Address
	client, err := NewClient(nc, cfg.Cluster, fan)
	if err != nil {
		return nil, err
	}
	s.client = client
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.register(cfg.Plan()); err != nil {
		s.cancel()
		return nil, err
	}
	s.done.Go(s.refreshLoop)
	return s, nil
}

// Client fans actions out from this replica to the others: it acts on
// neither nor waits for this one, and it remembers the replicas the
// service discovers every RefreshEvery, so that one that stops answering
// is reported. It is what the admin API's Cluster option takes.
func (s *Service) Client() *Client { return s.client }

// Stop removes the replica from the services API: it no longer answers
// discovery nor control requests.
func (s *Service) Stop() error {
	s.cancel()
	s.done.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return nil
	}
	err := s.svc.Stop()
	s.svc = nil
	if err != nil {
		return fmt.Errorf("control: stopping the service: %w", err)
	}
	return nil
}

// register adds the service with the plan in its metadata, replacing the
// registration there was. The metadata of a registration cannot change,
// so a new plan means a new registration; the old one is stopped first
// so that no request is acted on twice.
func (s *Service) register(plan Plan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc != nil {
		if err := s.svc.Stop(); err != nil {
			s.cfg.Logger.Warn("control: stopping the previous registration", "err", err)
		}
	}
	svc, err := micro.AddService(s.nc, micro.Config{
		Name:        ServiceName,
		Version:     semver(s.cfg.Version),
		Description: "Manifold gateway replica of cluster " + s.cfg.Cluster,
		Metadata: map[string]string{
			MetaCluster: s.cfg.Cluster, MetaReplica: s.cfg.Replica, MetaAddress: s.cfg.Address,
			MetaRevision: plan.Revision, MetaHash: plan.Hash,
		},
		QueueGroupDisabled: true, // every replica gets every request
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			s.cfg.Logger.Warn("control: service error", "subject", e.Subject, "err", e.Description)
		},
	})
	if err != nil {
		return fmt.Errorf("control: registering the service: %w", err)
	}
	// status comes last: a replica that answers status serves the rest.
	for _, e := range []struct {
		name string
		h    func(micro.Request, Request)
	}{{EndpointReload, s.reload}, {EndpointPurge, s.purge}, {EndpointBreaker, s.breaker}, {EndpointStatus, s.status}} {
		name := e.name
		if err := svc.AddEndpoint(name, s.handler(e.h), micro.WithEndpointSubject(Subject(s.cfg.Cluster, name)),
			micro.WithEndpointPendingLimits(pendingMsgs, pendingBytes)); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("control: endpoint %s: %w", name, err)
		}
	}
	s.svc, s.plan = svc, plan
	// The subscriptions reach the server before this returns, so that a
	// request sent right after (from another connection) is answered.
	if err := s.nc.FlushTimeout(time.Second); err != nil {
		s.cfg.Logger.Warn("control: the service's subscriptions are not confirmed by NATS yet", "err", err)
	}
	return nil
}

// refreshLoop discovers the other replicas, for the client's memory, and
// re-registers the service when the plan changed, so that `nats micro
// info` shows the plan being served.
func (s *Service) refreshLoop() {
	tick := time.NewTicker(s.cfg.RefreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.client.Discover(s.ctx); err != nil {
			s.cfg.Logger.Debug("control: discovery", "err", err)
		}
		plan := s.cfg.Plan()
		s.mu.Lock()
		same := s.plan == plan || s.svc == nil
		s.mu.Unlock()
		if same {
			continue
		}
		if err := s.register(plan); err != nil {
			s.cfg.Logger.Error("control: the service could not register again; the replica is out of the control plane", "err", err)
		}
	}
}

// Status is the replica's status now.
func (s *Service) Status(ctx context.Context) Status {
	load := s.cfg.Local.Load(ctx)
	if load.OpenBreakers == nil {
		load.OpenBreakers = []Breaker{}
	}
	return Status{
		Replica: s.cfg.Replica, Cluster: s.cfg.Cluster, Address: s.cfg.Address, Version: s.cfg.Version,
		Plan: s.cfg.Plan(), Started: s.started.UTC(), UptimeS: time.Since(s.started).Seconds(),
		InFlight: load.InFlight, OpenBreakers: load.OpenBreakers,
	}
}

// handler decodes a request and skips the caller's own fan-out.
func (s *Service) handler(h func(micro.Request, Request)) micro.HandlerFunc {
	return func(req micro.Request) {
		var in Request
		if len(req.Data()) > 0 {
			dec := json.NewDecoder(bytes.NewReader(req.Data()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				s.respond(req, nil, &ActionError{Code: 400, Detail: "the control request is not the expected JSON: " + err.Error()})
				return
			}
		}
		if in.Origin == "" {
			in.Origin = "nats"
		}
		if in.Origin == s.cfg.Replica {
			return // the caller acted locally already and does not wait for itself
		}
		h(req, in)
	}
}

func (s *Service) status(req micro.Request, _ Request) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ActionTimeout)
	defer cancel()
	s.respond(req, s.Status(ctx), nil)
}

func (s *Service) reload(req micro.Request, in Request) {
	s.act(req, in.Origin, func(ctx context.Context) (any, error) { return s.cfg.Local.Reload(ctx) })
}

func (s *Service) purge(req micro.Request, in Request) {
	if in.Purge == nil {
		s.respond(req, nil, &ActionError{Code: 400, Detail: "say what to purge"})
		return
	}
	s.act(req, in.Origin, func(ctx context.Context) (any, error) { return s.cfg.Local.Purge(ctx, *in.Purge) })
}

func (s *Service) breaker(req micro.Request, in Request) {
	s.act(req, in.Origin, func(ctx context.Context) (any, error) { return s.cfg.Local.ForceBreaker(ctx, in.Upstream, in.State) })
}

// act runs a local action within ActionTimeout and answers with its
// outcome.
func (s *Service) act(req micro.Request, origin string, f func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(WithOrigin(s.ctx, origin), s.cfg.ActionTimeout)
	defer cancel()
	res, err := f(ctx)
	s.respond(req, res, err)
}

// respond answers with the replica's Reply; a failed action is a service
// error (Nats-Service-Error headers), so that `nats micro stats` counts
// it.
func (s *Service) respond(req micro.Request, res any, err error) {
	rep := Reply{Replica: s.cfg.Replica, Address: s.cfg.Address, OK: err == nil}
	if res != nil {
		raw, merr := json.Marshal(res)
		if merr != nil {
			err = fmt.Errorf("control: encoding the result: %w", merr)
			rep.OK = false
		}
		rep.Result = raw
	}
	if err == nil {
		s.send(req.RespondJSON(rep))
		return
	}
	rep.Code, rep.Error = 500, err.Error()
	if ae := (*ActionError)(nil); errors.As(err, &ae) {
		rep.Code = ae.Code
	}
	body, _ := json.Marshal(rep)
	s.send(req.Error(fmt.Sprint(rep.Code), rep.Error, body))
}

func (s *Service) send(err error) {
	if err != nil {
		s.cfg.Logger.Warn("control: answer not sent", "err", err)
	}
}

// semverRE is the SemVer 2 grammar the services API requires of versions
// (the one micro checks), and notTag what a pre-release tag may not hold.
var (
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	notTag   = regexp.MustCompile(`[^0-9A-Za-z-]+`)
)

// semver makes v acceptable to the services API: "v1.2.3" and "1.2.3"
// stay, anything else ("dev") becomes a 0.0.0 pre-release.
func semver(v string) string {
	if bare := strings.TrimPrefix(v, "v"); semverRE.MatchString(bare) {
		return bare
	}
	if pre := "0.0.0-" + notTag.ReplaceAllString(v, "-"); v != "" && semverRE.MatchString(pre) {
		return pre
	}
	return "0.0.0-unknown"
}

// Replicas is every replica's status, this one's first, for operator
// pages: the others' answers to a status fan-out, and the replicas
// known that did not answer in time.
func (s *Service) Replicas(ctx context.Context) (answered []Status, missing []Replica, err error) {
	answered = []Status{s.Status(ctx)}
	res, err := s.client.Status(ctx)
	if err != nil {
		return answered, nil, err
	}
	for _, r := range res.Acted {
		var st Status
		if json.Unmarshal(r.Result, &st) == nil {
			answered = append(answered, st)
		}
	}
	return answered, res.NotAnswered, nil
}
