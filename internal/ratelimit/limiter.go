package ratelimit

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Policy names in the RateLimit fields; a pipeline's policy is its name.
const (
	PolicyGateway  = "gateway"
	PolicyConsumer = "consumer"
)

// Options are a Limiter's dependencies; zero fields get defaults.
type Options struct {
	// ConsumerRate returns the rate of the consumer an identity stands
	// for (auth.Authenticator.ConsumerRate); nil: no consumer rates.
	ConsumerRate func(*pipeline.Identity) *yamlconf.Rate
	// MaxKeys bounds the per-caller buckets kept (DefaultMaxKeys).
	MaxKeys int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Limiter applies the rate limits of gateway.yaml. It implements
// server.Limiter and is safe for concurrent use. It is also a
// server.Surface that mounts nothing: at each reload it takes the new
// plan's server.rate. Pipeline and consumer rates are read per call, and
// a bucket belongs to one rate, so a changed rate starts afresh.
type Limiter struct {
	global       atomic.Pointer[globalLimit]
	staged       staged // server.rate of a plan being swapped in
	consumerRate func(*pipeline.Identity) *yamlconf.Rate
	store        *store
	now          func() time.Time
	// cluster is set while the limits are shared with other replicas.
	cluster atomic.Pointer[exchange]
}

// globalLimit is server.rate with its one bucket (nil b without it).
type globalLimit struct {
	rate   *yamlconf.Rate
	policy string
	b      *bucket
}

var _ server.Surface = (*Limiter)(nil)

// New returns the Limiter for server.rate (global; nil: no global limit).
func New(global *yamlconf.Rate, opts Options) *Limiter {
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ConsumerRate == nil {
		opts.ConsumerRate = func(*pipeline.Identity) *yamlconf.Rate { return nil }
	}
	l := &Limiter{consumerRate: opts.ConsumerRate, store: newStore(opts.MaxKeys), now: opts.Now}
	l.setGlobal(global)
	return l
}

func (l *Limiter) setGlobal(r *yamlconf.Rate) {
	cur := l.global.Load()
	if cur != nil && sameRate(cur.rate, r) {
		return
	}
	g := &globalLimit{rate: r}
	if r != nil {
		g.policy = policyKey("g", r)
		g.b = newBucket(r, g.policy+"\x00", len(g.policy))
	}
	l.global.Store(g)
}

// bucketFor is the bucket of caller under policy as another replica
// names it: the global one, or one of the store, created for r.
func (l *Limiter) bucketFor(policy, caller string, r *yamlconf.Rate, now time.Time) *bucket {
	if policy[0] == 'g' {
		if g := l.global.Load(); g.b != nil && g.policy == policy {
			return g.b
		}
		return nil
	}
	return l.store.get(policy, caller, r, now)
}

func sameRate(a, b *yamlconf.Rate) bool {
	return a == b || (a != nil && b != nil && a.Count == b.Count && a.Per == b.Per && a.Burst == b.Burst)
}

// policyKey names a level and its rate, so that a bucket never outlives
// a change of its rate.
func policyKey(level string, r *yamlconf.Rate) string {
	return level + "\x00" + strconv.Itoa(r.Count) + "/" + r.Per.String() + "/" + strconv.Itoa(r.Burst)
}

// check is one level that applies to a call.
type check struct {
	name string
	rate *yamlconf.Rate
	b    *bucket
	// spent: this replica's share of the bucket is spent until the next
	// exchange, whatever tokens the bucket still shows.
	spent bool
}

// Allow implements server.Limiter: it takes one token at every level that
// applies, or none if any level refuses, and returns the RateLimit fields
// for the answer.
func (l *Limiter) Allow(_ context.Context, p *pipeline.Compiled, id *pipeline.Identity, client string) (http.Header, error) {
	now := l.now()
	checks := make([]check, 0, 3)
	if g := l.global.Load(); g.b != nil {
		checks = append(checks, check{name: PolicyGateway, rate: g.rate, b: g.b})
	}
	if r := l.consumerRate(id); r != nil {
		checks = append(checks, check{name: PolicyConsumer, rate: r, b: l.store.get(policyKey("c", r), id.Key(), r, now)})
	}
	if p.Access != nil && p.Access.Rate != nil {
		// Identities are keyed with their source: a token whose subject
		// is a consumer's name does not share that consumer's bucket.
		caller := "ip:" + clientKey(client)
		if id != nil {
			caller = "id:" + id.Key()
		}
		checks = append(checks, check{name: p.Name, rate: p.Access.Rate, b: l.store.get(policyKey("p\x00"+p.Name, p.Access.Rate), caller, p.Access.Rate, now)})
	}
	if len(checks) == 0 {
		return nil, nil
	}
	refused, wait := l.reserve(checks, now)
	h := fields(checks, now)
	if refused < 0 {
		return h, nil
	}
	c := checks[refused]
	p429 := problem.New("rate-limited", http.StatusTooManyRequests,
		fmt.Sprintf("rate limit %s (%s) reached; retry in %ds", c.rate, describe(c.name, p.Name), seconds(wait)))
	p429.RetryAfter = seconds(wait)
	return h, &problem.Error{P: p429}
}

// reserve takes a call from every level, or from none if one refuses
// (its index, and how long until it would allow the call). In a cluster
// a call also takes from this replica's allowance of each bucket and, as
// long as NATS is away, costs as many tokens as there are replicas.
func (l *Limiter) reserve(checks []check, now time.Time) (refused int, wait time.Duration) {
	x, cost, shared := l.cluster.Load(), 1, 0
	var epoch uint64
	if x != nil {
		var n int
		var fallback bool
		epoch, n, fallback = unpackTerms(x.terms.Load())
		if fallback {
			cost = n
		} else if n > 1 {
			shared = n
		}
	}
	refused = -1
	res := make([]*rate.Reservation, len(checks))
	var took [3]bool // len(checks) <= 3
	for i, c := range checks {
		res[i] = c.b.lim.ReserveN(now, min(cost, c.rate.Burst))
		d := c.rate.Per
		if res[i].OK() {
			d = res[i].DelayFrom(now)
		}
		if d == 0 && shared > 0 {
			if took[i] = c.b.take(now, epoch, shared, *x.heard.Load()); !took[i] {
				d = x.interval // the allowance is renewed at the next exchange
				checks[i].spent = true
			}
		}
		if d > wait {
			refused, wait = i, d
		}
	}
	if refused >= 0 {
		for i, r := range res {
			r.CancelAt(now)
			if took[i] {
				checks[i].b.giveBack(epoch)
			}
		}
		return refused, wait
	}
	if x != nil {
		for _, c := range checks {
			x.spent(c.b)
		}
	}
	return -1, 0
}

func describe(policy, pipelineName string) string {
	switch policy {
	case PolicyGateway:
		return "the gateway's"
	case PolicyConsumer:
		return "the consumer's"
	}
	return "pipeline " + pipelineName + ", per caller"
}

// fields are the RateLimit-Policy and RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers-09): per policy its quota q over
// window w seconds, and the remaining units r with t, the seconds until
// one more unit when none remain, else until the bucket is full again.
func fields(checks []check, now time.Time) http.Header {
	var pol, cur strings.Builder
	for i, c := range checks {
		if i > 0 {
			pol.WriteString(", ")
			cur.WriteString(", ")
		}
		name := strconv.Quote(c.name)
		pol.WriteString(name + ";q=" + strconv.Itoa(c.rate.Count) + ";w=" + strconv.Itoa(int(c.rate.Per/time.Second)))
		tokens := c.b.lim.TokensAt(now)
		remaining := int(math.Floor(max(tokens, 0)))
		if c.spent {
			remaining, tokens = 0, min(tokens, 0.999)
		}
		perToken := c.rate.Per.Seconds() / float64(c.rate.Count)
		wait := (float64(c.rate.Burst) - tokens) * perToken
		if remaining == 0 {
			wait = (1 - tokens) * perToken
		}
		cur.WriteString(name + ";r=" + strconv.Itoa(remaining) + ";t=" + strconv.Itoa(int(math.Ceil(max(wait, 0)))))
	}
	return http.Header{"Ratelimit-Policy": {pol.String()}, "Ratelimit": {cur.String()}}
}

// seconds rounds d up to whole seconds, at least 1 (Retry-After).
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// clientKey is the bucket of an anonymous caller: its IPv4 address, or
// its IPv6 /64 (server.ClientKey).
func clientKey(client string) string { return server.ClientKey(client) }
