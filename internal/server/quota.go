package server

import "sync"

// Quota counts the slots that long-lived things hold (streams, GraphQL
// subscriptions, MCP sessions), in all and per client, so that no client
// takes more than its share. A client is its address, or its /64 for
// IPv6 (ClientKey): one host may use any address of its /64. The zero
// value is ready.
type Quota struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
}

// QuotaRefusal says which bound refused a Take.
type QuotaRefusal int

// The outcomes of Take.
const (
	Taken      QuotaRefusal = iota
	OverTotal               // max slots are held in all
	OverClient              // perClient slots are held by the client
)

// Take takes a slot for client unless max are held in all or perClient
// by that client (0: no bound). The release it returns gives the slot
// back, once however often it is called.
func (q *Quota) Take(client string, max, perClient int) (release func(), refused QuotaRefusal) {
	client = ClientKey(client)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case max > 0 && q.total >= max:
		return nil, OverTotal
	case perClient > 0 && q.byClient[client] >= perClient:
		return nil, OverClient
	}
	if q.byClient == nil {
		q.byClient = map[string]int{}
	}
	q.total++
	q.byClient[client]++
	var once sync.Once
	return func() { once.Do(func() { q.give(client) }) }, Taken
}

func (q *Quota) give(client string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.total--
	if q.byClient[client]--; q.byClient[client] <= 0 {
		delete(q.byClient, client)
	}
}

// Held is how many slots are held.
func (q *Quota) Held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// Clients is how many clients hold a slot.
func (q *Quota) Clients() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.byClient)
}
