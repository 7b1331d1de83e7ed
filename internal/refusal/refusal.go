// Package refusal counts requests refused by one of the gateway's resource
// bounds (a query too long, too many subscriptions, too many MCP sessions,
// too many failed credentials, ...). Every bound counts its refusals here
// under its own name, the gateway.yaml key that sets it, and telemetry
// exports them as one metric, manifold.limit.refusals{limit=NAME}.
package refusal

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Counts holds one counter per bound. The zero value is ready; a nil
// *Counts counts nothing, so a surface built without telemetry (tests)
// needs no special case.
type Counts struct {
	m sync.Map // bound name → *atomic.Int64
}

// Add counts one refusal by the bound named name (for example
// "graphql.max_query_bytes").
func (c *Counts) Add(name string) {
	if c == nil {
		return
	}
	v, ok := c.m.Load(name)
	if !ok {
		v, _ = c.m.LoadOrStore(name, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// Get returns how many refusals the bound named name has counted.
func (c *Counts) Get(name string) int64 {
	if c == nil {
		return 0
	}
	if v, ok := c.m.Load(name); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Each calls f for every bound that refused at least once, by name.
func (c *Counts) Each(f func(name string, n int64)) {
	if c == nil {
		return
	}
	var names []string
	c.m.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	sort.Strings(names)
	for _, n := range names {
		f(n, c.Get(n))
	}
}
