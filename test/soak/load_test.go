package soak

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/manifoldgw/manifold/internal/problem"
)

// requestID is a Manifold-Request-Id (12 random bytes, hex), kept in 12
// bytes: a long soak keeps hundreds of thousands of them.
type requestID [12]byte

// tally is what the load saw, by party.
type tally struct {
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	// Backend are the answers that blame a backend, by upstream: a 502,
	// 503 or 504 problem of type upstream-* naming it. The flapped one
	// while it is down and its breaker open; on a busy machine (-race) a
	// slow one may time out too.
	Backend map[string]int64 `json:"failed_by_backend"`
	// Gateway are the failures of the gateway itself: any other status,
	// a connection error, an answer without a request id.
	Gateway int64 `json:"failed_by_gateway"`
}

// load sends the demo's GET pipelines at a steady rate (vegeta, as the
// load harness test/load does) and keeps every answer's request id.
type load struct {
	attacker *vegeta.Attacker
	client   *http.Client
	done     chan struct{}

	mu       sync.Mutex
	tally    tally
	ids      []requestID
	failures []string // the first few gateway failures
	answered atomic.Int64
}

// targets are the requests sent in turn: every demo GET pipeline, over a
// bounded set of cache keys, so that caches reach a steady size.
func targets(base string) []string {
	var out []string
	cities, langs := []string{"Berlin", "Hamburg", "Madrid", "Paris"}, []string{"en", "de", "fr", "es"}
	words := []string{"milk", "coffee", "bread", "cheese", "apple", "butter", "tea", "rice"}
	for i := range 32 {
		out = append(out,
			fmt.Sprintf("%s/v1/cities/%s/deals?lang=%s&limit=%d", base, cities[i%4], langs[i/4%4], 1+i/16),
			fmt.Sprintf("%s/v1/products?q=%s&lang=%s", base, words[i%8], langs[i/8%4]),
			fmt.Sprintf("%s/v1/markets/nearest?lat=52.5%d&lon=13.4%d&radius_km=5", base, i%8, i/8))
	}
	return out
}

// startLoad attacks targets at rate requests per second until stop.
func startLoad(base string, rate int) *load {
	l := &load{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, done: make(chan struct{})}
	l.tally.Backend = map[string]int64{}
	l.attacker = vegeta.NewAttacker(vegeta.Client(l.client), vegeta.Timeout(10*time.Second),
		vegeta.Workers(4), vegeta.MaxWorkers(256), vegeta.MaxBody(4<<10))
	urls := targets(base)
	var n atomic.Uint64
	targeter := func(tgt *vegeta.Target) error {
		tgt.Method, tgt.URL = http.MethodGet, urls[n.Add(1)%uint64(len(urls))]
		return nil
	}
	results := l.attacker.Attack(targeter, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, 0, "soak")
	go func() {
		defer close(l.done)
		for res := range results {
			l.add(res)
		}
	}()
	return l
}

// stop ends the attack once the requests in flight are answered, and
// closes the load's idle connections.
func (l *load) stop() tally {
	l.attacker.Stop()
	<-l.done
	l.client.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tally
}

func (l *load) add(res *vegeta.Result) {
	upstream, failure := blame(res)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tally.Requests++
	switch {
	case upstream != "":
		l.tally.Backend[upstream]++
	case failure != "":
		l.tally.Gateway++
		if len(l.failures) < 5 {
			l.failures = append(l.failures, failure)
		}
	default:
		l.tally.OK++
	}
	if id, err := hex.DecodeString(res.Headers.Get("Manifold-Request-Id")); err == nil && len(id) == len(requestID{}) {
		l.ids = append(l.ids, requestID(id))
	} else if res.Code != 0 {
		l.tally.Gateway++ // an answer without a request id is the gateway's fault too
		l.failures = append(l.failures, fmt.Sprintf("%s: no request id", res.URL))
	}
	l.answered.Add(1)
}

// blame says who failed a request: nobody (both empty), a backend (the
// upstream a 502, 503 or 504 problem of type upstream-* names) or the
// gateway (a description of the failure).
func blame(res *vegeta.Result) (upstream, failure string) {
	if res.Code >= 200 && res.Code < 300 {
		return "", ""
	}
	if res.Code == 0 {
		return "", fmt.Sprintf("%s: %s", res.URL, res.Error)
	}
	var p struct{ Type, Upstream string }
	if strings.HasPrefix(res.Headers.Get("Content-Type"), "application/problem+json") &&
		json.Unmarshal(res.Body, &p) == nil && p.Upstream != "" &&
		(res.Code == 502 || res.Code == 503 || res.Code == 504) &&
		strings.HasPrefix(p.Type, problem.TypePrefix+"upstream-") {
		return p.Upstream, ""
	}
	return "", fmt.Sprintf("%s: %d %s", res.URL, res.Code, res.Body)
}

// waitBlamed waits until n more answers blamed the flapped backend, or d
// passed.
func (l *load) waitBlamed(n int64, d time.Duration) {
	blamed := func() int64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.tally.Backend[flapped]
	}
	want, deadline := blamed()+n, time.Now().Add(d)
	for blamed() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAnswered waits until n more requests were answered, or d passed.
func (l *load) waitAnswered(n int64, d time.Duration) {
	want, deadline := l.answered.Load()+n, time.Now().Add(d)
	for l.answered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}
