package control

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// gather collects the answers of one fan-out: discovery's PING answers
// on <inbox>.ping and the replicas' replies on <inbox>.act, on one
// subscription.
type gather struct {
	c        *Client
	ctx      context.Context
	sub      *nats.Subscription
	settleAt time.Time
	deadline time.Time
	pinged   map[string]Replica // found by discovery
	expected map[string]Replica // remembered from earlier answers
	replies  map[string]Reply
}

// start subscribes to a new inbox, then sends discovery's PING and, when
// subject is not empty, the request.
func (c *Client) start(ctx context.Context, subject string, body []byte) (*gather, error) {
	if !c.nc.IsConnected() {
		return nil, ErrNoNATS
	}
	inbox := c.nc.NewInbox()
	sub, err := c.nc.SubscribeSync(inbox + ".*")
	if err != nil {
		return nil, fmt.Errorf("control: subscribing for answers: %w", err)
	}
	now := time.Now()
	g := &gather{
		c: c, ctx: ctx, sub: sub, settleAt: now.Add(c.opts.Settle), deadline: now.Add(c.opts.Timeout),
		pinged: map[string]Replica{}, expected: map[string]Replica{}, replies: map[string]Reply{},
	}
	if d, ok := ctx.Deadline(); ok && d.Before(g.deadline) {
		g.deadline = d
	}
	if g.settleAt.After(g.deadline) {
		g.settleAt = g.deadline
	}
	if err := c.nc.PublishRequest(pingSubject(), inbox+".ping", nil); err != nil {
		g.close()
		return nil, fmt.Errorf("control: discovery: %w", err)
	}
	if subject != "" {
		if err := c.nc.PublishRequest(subject, inbox+".act", body); err != nil {
			g.close()
			return nil, fmt.Errorf("control: sending the request: %w", err)
		}
	}
	return g, nil
}

func (g *gather) close() { _ = g.sub.Unsubscribe() }

// collect takes answers until done says so, the deadline passes or the
// context ends.
func (g *gather) collect(done func() bool) {
	for !done() {
		now := time.Now()
		if !now.Before(g.deadline) || g.ctx.Err() != nil {
			return
		}
		wake := g.deadline
		if now.Before(g.settleAt) {
			wake = g.settleAt
		}
		ctx, cancel := context.WithDeadline(g.ctx, wake)
		msg, err := g.sub.NextMsgWithContext(ctx)
		cancel()
		if err == nil {
			g.take(msg)
		}
	}
}

// take records one answer.
func (g *gather) take(msg *nats.Msg) {
	now := time.Now()
	switch {
	case strings.HasSuffix(msg.Subject, ".ping"):
		var p micro.Ping
		if json.Unmarshal(msg.Data, &p) != nil || p.Name != ServiceName || p.Metadata[MetaCluster] != g.c.cluster {
			return // another service, or a replica of another cluster
		}
		r := Replica{ID: p.Metadata[MetaReplica], Address: p.Metadata[MetaAddress], LastSeen: now}
		if r.ID == "" || r.ID == g.c.opts.Origin {
			return
		}
		g.pinged[r.ID] = r
		g.c.saw(r)
	case strings.HasSuffix(msg.Subject, ".act"):
		var rep Reply
		if len(msg.Data) == 0 || json.Unmarshal(msg.Data, &rep) != nil || rep.Replica == "" {
			return // "no responders" status, or not a replica's answer
		}
		g.replies[rep.Replica] = rep
		g.c.saw(Replica{ID: rep.Replica, Address: rep.Address, LastSeen: now})
	}
}

// complete: discovery settled and every replica known has answered.
func (g *gather) complete() bool {
	if time.Now().Before(g.settleAt) {
		return false
	}
	for _, known := range []map[string]Replica{g.pinged, g.expected} {
		for id := range known {
			if _, ok := g.replies[id]; !ok {
				return false
			}
		}
	}
	return true
}

// result sorts the answers, and lists the replicas known that did not
// answer.
func (g *gather) result() Result {
	res := Result{Acted: []Reply{}, Failed: []Reply{}, NotAnswered: []Replica{}}
	for _, rep := range g.replies {
		if rep.OK {
			res.Acted = append(res.Acted, rep)
		} else {
			res.Failed = append(res.Failed, rep)
		}
	}
	missing := map[string]Replica{}
	for _, known := range []map[string]Replica{g.expected, g.pinged} {
		for id, r := range known {
			if _, ok := g.replies[id]; !ok {
				missing[id] = r
			}
		}
	}
	for _, r := range missing {
		res.NotAnswered = append(res.NotAnswered, r)
	}
	byReply := func(a, b Reply) int { return strings.Compare(a.Replica, b.Replica) }
	slices.SortFunc(res.Acted, byReply)
	slices.SortFunc(res.Failed, byReply)
	slices.SortFunc(res.NotAnswered, func(a, b Replica) int { return strings.Compare(a.ID, b.ID) })
	return res
}
