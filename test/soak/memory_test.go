package soak

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

var profileDir = flag.String("soak-profiles", "", "write heap and goroutine profiles at the baseline and at the end into this directory")

// profile writes the heap and goroutine profiles as name-heap.pb.gz and
// name-goroutine.txt into -soak-profiles, if set.
func profile(t *testing.T, name string) {
	if *profileDir == "" {
		return
	}
	runtime.GC()
	for _, p := range []struct {
		kind, file string
		debug      int
	}{{"heap", name + "-heap.pb.gz", 0}, {"goroutine", name + "-goroutine.txt", 1}} {
		f, err := os.Create(filepath.Join(*profileDir, p.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup(p.kind).WriteTo(f, p.debug); err != nil {
			t.Error(err)
		}
		f.Close()
	}
}

// usage is the process's live heap (after a GC) and goroutines. The
// goroutines of idle keep-alive HTTP connections (the gateway's upstream
// pools, the backends' and the gateway's server side) are counted apart:
// a pool's size follows the load's peak concurrency and shrinks after its
// idle timeout (90s for upstreams); it is not a leak.
type usage struct {
	Heap       uint64 `json:"heap_bytes"`
	Goroutines int    `json:"goroutines"`
	IdleConns  int    `json:"goroutines_of_idle_http_connections"`
}

func measure() usage {
	runtime.GC() // two: the first moves sync.Pool contents to the victim cache, the second frees them
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total, idle := goroutines()
	return usage{Heap: ms.HeapAlloc, Goroutines: total - idle, IdleConns: idle}
}

// goroutines counts all goroutines and those of idle HTTP connections:
// a client connection's read and write loops, and a server connection
// waiting for the first byte of its next request.
func goroutines() (total, idle int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		total++
		if bytes.Contains(g, []byte("net/http.(*persistConn).readLoop")) ||
			bytes.Contains(g, []byte("net/http.(*persistConn).writeLoop")) ||
			bytes.Contains(g, []byte("net/http.(*conn).serve")) && bytes.Contains(g, []byte("bufio.(*Reader).Peek")) {
			idle++
		}
	}
	return total, idle
}

// settled measures once the goroutine count has stayed the same over
// five samples 100 ms apart (connections just closed take a moment to
// end their goroutines), or after 10 s.
func settled() usage {
	deadline := time.Now().Add(10 * time.Second)
	last, same := measure(), 0
	for same < 5 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		u := measure()
		if u.Goroutines == last.Goroutines && u.IdleConns == last.IdleConns {
			same++
		} else {
			same = 0
		}
		last = u
	}
	return last
}

// within reports whether u is at most 10% above base, minus what the
// test itself keeps (held bytes of request ids).
func (u usage) within(base usage, held uint64) bool {
	heap := u.Heap - min(held, u.Heap)
	return float64(heap) <= 1.1*float64(base.Heap) && float64(u.Goroutines) <= 1.1*float64(base.Goroutines)
}

// backToBaseline polls until the heap and goroutines are back within 10%
// of base, for at most 75 s, and returns the last measure. By then the
// audit stream's de-duplication window (30s) has passed, and the demo
// backends (IdleTimeout 60s) have closed the idle keep-alive connections
// whose buffers (4 KiB each way, on both ends, all in this process) a
// burst of concurrency left in the pools.
func backToBaseline(t *testing.T, base usage, held uint64) (usage, bool) {
	t.Helper()
	deadline := time.Now().Add(75 * time.Second)
	for {
		u := measure()
		if u.within(base, held) {
			return u, true
		}
		if time.Now().After(deadline) {
			return u, false
		}
		time.Sleep(250 * time.Millisecond)
	}
}
