package console

import (
	"math"
	"time"
)

// Latencies are counted in a fixed log-scale histogram: bucket i holds
// durations up to histBase·histGrowth^i, so a quantile read from it is the
// upper bound of its bucket, at most 25% above the true value, whatever
// the traffic. Memory per slot is fixed (histBuckets counters).
const (
	histBuckets = 64
	histBase    = 100 * time.Microsecond
	histGrowth  = 1.25
)

// hist is a latency histogram.
type hist [histBuckets]uint32

func (h *hist) add(d time.Duration) {
	i := 0
	if d > histBase {
		i = int(math.Ceil(math.Log(float64(d)/float64(histBase)) / math.Log(histGrowth)))
	}
	h[min(i, histBuckets-1)]++
}

func (h *hist) merge(o *hist) {
	for i := range h {
		h[i] += o[i]
	}
}

// quantile returns the q-quantile (0..1) of the durations counted, as the
// upper bound of its bucket; 0 when nothing was counted.
func (h *hist) quantile(q float64) time.Duration {
	var total uint64
	for _, n := range h {
		total += uint64(n)
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range h {
		seen += uint64(n)
		if seen >= max(rank, 1) {
			return time.Duration(float64(histBase) * math.Pow(histGrowth, float64(i)))
		}
	}
	return time.Duration(float64(histBase) * math.Pow(histGrowth, histBuckets-1))
}
