package console

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stats are one series' figures over the window, with a point per
// minute (oldest first) for the sparklines.
type Stats struct {
	Name      string
	Calls     int
	ErrorRate float64 // 0..1
	P50, P99  time.Duration
	HitRatio  float64 // 0..1; meaningful when Lookups > 0
	Lookups   int
	// Per minute, oldest first.
	Rate, Errors, P50s, P99s []float64
}

// PipelineStats returns the figures of every pipeline named, in order
// (pipelines without calls get zeros).
func (r *Ring) PipelineStats(names []string) []Stats { return r.stats(r.pipes, names) }

// UpstreamStats returns the figures of every upstream named, in order.
func (r *Ring) UpstreamStats(names []string) []Stats { return r.stats(r.ups, names) }

func (r *Ring) stats(m map[string]*series, names []string) []Stats {
	now := r.now().Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Stats, 0, len(names))
	for _, name := range names {
		st := Stats{Name: name}
		if s := m[name]; s != nil {
			st = s.stats(name, now)
		} else {
			st.Rate, st.Errors, st.P50s, st.P99s = make([]float64, Window), make([]float64, Window), make([]float64, Window), make([]float64, Window)
		}
		out = append(out, st)
	}
	return out
}

func (s *series) stats(name string, now int64) Stats {
	st := Stats{Name: name}
	var all hist
	var errs, hits int
	for m := now - Window + 1; m <= now; m++ {
		sl := &s.slots[m%Window]
		if sl.minute != m {
			st.Rate, st.Errors, st.P50s, st.P99s = append(st.Rate, 0), append(st.Errors, 0), append(st.P50s, 0), append(st.P99s, 0)
			continue
		}
		st.Calls += sl.count
		errs += sl.errors
		hits += sl.hits
		st.Lookups += sl.lookups
		all.merge(&sl.lat)
		st.Rate = append(st.Rate, float64(sl.count))
		st.Errors = append(st.Errors, ratio(sl.errors, sl.count))
		st.P50s = append(st.P50s, ms(sl.lat.quantile(0.5)))
		st.P99s = append(st.P99s, ms(sl.lat.quantile(0.99)))
	}
	st.ErrorRate = ratio(errs, st.Calls)
	st.HitRatio = ratio(hits, st.Lookups)
	st.P50, st.P99 = all.quantile(0.5), all.quantile(0.99)
	return st
}

func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Sparkline dimensions (SVG user units).
const (
	sparkW = 120
	sparkH = 28
)

// sparkPoints is the points attribute of a polyline drawing values,
// scaled to the sparkline's box (top is the largest value).
func sparkPoints(values []float64) string { return sparkWith(values, values) }

// sparkWith is sparkPoints scaled to the largest of scale (two lines
// drawn in one box share a scale).
func sparkWith(values, scale []float64) string {
	top := slices.Max(append([]float64{0}, scale...))
	var b strings.Builder
	for i, v := range values {
		x := float64(i) * sparkW / float64(max(len(values)-1, 1))
		y := float64(sparkH - 2)
		if top > 0 {
			y = 2 + (1-v/top)*(sparkH-4)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
}

// sparkText describes a sparkline for assistive technology: the last
// minute and the peak.
func sparkText(values []float64) string {
	if len(values) == 0 {
		return "no data"
	}
	last := values[len(values)-1]
	peak := slices.Max(values)
	return fmt.Sprintf("last %d minutes: %s in the last minute, peak %s", len(values),
		strconv.FormatFloat(last, 'g', 3, 64), strconv.FormatFloat(peak, 'g', 3, 64))
}

// percent formats a 0..1 ratio.
func percent(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

// duration formats a latency for a table cell.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.0fms", ms(d))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
