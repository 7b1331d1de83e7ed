package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Defaults of ClientOptions.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultSettle   = 250 * time.Millisecond
	DefaultRemember = time.Minute
)

// ClientOptions say how a Client fans requests out.
type ClientOptions struct {
	// Origin is the caller: a replica id, whose own service is neither
	// asked nor waited for (it acts locally), or "" for a command-line
	// client ("cli").
	Origin string
	// Address is the caller replica's address, reported with its id.
	Address string
	// Timeout bounds the wait for every replica's answer; 0 means
	// DefaultTimeout. A context deadline that comes sooner wins.
	Timeout time.Duration
	// Settle is how long discovery listens for replicas before the wait
	// may end early (once every replica found has answered); 0 means
	// DefaultSettle.
	Settle time.Duration
	// Remember is how long a replica seen once is still expected to
	// answer, so that one that died is reported as not answering rather
	// than forgotten; 0 means DefaultRemember, negative not at all.
	Remember time.Duration
}

// Client fans control requests out to every replica of a cluster. It is
// safe for concurrent use.
type Client struct {
	nc      *nats.Conn
	cluster string
	opts    ClientOptions

	mu   sync.Mutex
	seen map[string]Replica
}

// Replica is a replica found by discovery or by its answer.
type Replica struct {
	ID       string    `json:"replica"`
	Address  string    `json:"address,omitempty"`
	LastSeen time.Time `json:"last_seen"`
}

// Result is the outcome of a fan-out, replica by replica, each list
// sorted by replica id.
type Result struct {
	Acted  []Reply `json:"acted"`  // answered: done
	Failed []Reply `json:"failed"` // answered: could not do it, and why
	// NotAnswered are replicas known (from discovery, or seen within
	// Remember) that did not answer before the deadline.
	NotAnswered []Replica `json:"not_answered"`
}

// ErrNoNATS is returned when the client's NATS connection is not up.
var ErrNoNATS = errors.New("control: NATS is not connected")

// NewClient returns a client of the cluster's control plane on nc.
func NewClient(nc *nats.Conn, cluster string, opts ClientOptions) (*Client, error) {
	if err := ValidCluster(cluster); err != nil {
		return nil, err
	}
	if opts.Origin == "" {
		opts.Origin = "cli"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Remember == 0 {
		opts.Remember = DefaultRemember
	}
	return &Client{nc: nc, cluster: cluster, opts: opts, seen: map[string]Replica{}}, nil
}

// Replica is the caller's own id and address (the Origin option).
func (c *Client) Replica() (id, address string) { return c.opts.Origin, c.opts.Address }

// Status asks every replica for its Status; each Reply's Result holds it.
func (c *Client) Status(ctx context.Context) (Result, error) {
	return c.fanOut(ctx, EndpointStatus, Request{})
}

// Reload asks every replica to reload its plan.
func (c *Client) Reload(ctx context.Context) (Result, error) {
	return c.fanOut(ctx, EndpointReload, Request{})
}

// Purge asks every replica to purge its cache.
func (c *Client) Purge(ctx context.Context, scope PurgeScope) (Result, error) {
	return c.fanOut(ctx, EndpointPurge, Request{Purge: &scope})
}

// ForceBreaker asks every replica to set an upstream's breaker to open,
// closed or auto.
func (c *Client) ForceBreaker(ctx context.Context, upstream, state string) (Result, error) {
	return c.fanOut(ctx, EndpointBreaker, Request{Upstream: upstream, State: state})
}

// Discover lists the replicas of the cluster that answer the services
// API's PING within Settle.
func (c *Client) Discover(ctx context.Context) ([]Replica, error) {
	g, err := c.start(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	defer g.close()
	g.collect(func() bool { return !time.Now().Before(g.settleAt) })
	out := make([]Replica, 0, len(g.pinged))
	for _, r := range g.pinged {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Replica) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// fanOut sends the request to every replica and discovery's PING at once,
// then collects answers until every replica known has answered (but not
// before discovery settled) or the deadline.
func (c *Client) fanOut(ctx context.Context, endpoint string, in Request) (Result, error) {
	in.Origin = c.opts.Origin
	body, err := json.Marshal(in)
	if err != nil {
		return Result{}, fmt.Errorf("control: encoding the request: %w", err)
	}
	subject := Subject(c.cluster, endpoint)
	g, err := c.start(ctx, subject, body)
	if err != nil {
		return Result{}, err
	}
	defer g.close()
	g.expected = c.remembered()
	g.collect(g.complete)
	if len(g.replies) == 0 {
		// NATS refuses a publish without permission asynchronously: say
		// so rather than that no replica answered.
		if err := c.nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
			return g.result(), fmt.Errorf("control: NATS does not let this user ask the cluster: %w", err)
		}
	}
	return g.result(), nil
}

// remembered are the replicas seen within Remember, but the caller.
func (c *Client) remembered() map[string]Replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]Replica{}
	for id, r := range c.seen {
		if c.opts.Remember > 0 && time.Since(r.LastSeen) <= c.opts.Remember {
			out[id] = r
		} else {
			delete(c.seen, id)
		}
	}
	return out
}

// saw remembers a replica that answered.
func (c *Client) saw(r Replica) {
	if r.ID == c.opts.Origin || c.opts.Remember < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[r.ID] = r
}

// pingSubject is the services API's discovery subject for every replica
// of every cluster; answers are told apart by their metadata.
func pingSubject() string {
	s, _ := micro.ControlSubject(micro.PingVerb, ServiceName, "")
	return s
}
