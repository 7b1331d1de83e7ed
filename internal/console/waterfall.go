package console

import (
	"cmp"
	"slices"
	"time"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Waterfall geometry (SVG user units): a label column, then the bars on
// a time axis from the call's start to its end.
const (
	wfLabel = 170
	wfPlot  = 560
	wfRow   = 26
)

// wfBar is one step of a call on the time axis.
type wfBar struct {
	Name, Upstream    string
	X, W, Y           int
	Start, Duration   time.Duration
	Calls, Attempts   int
	Status            int
	Cache, Breaker    string
	Skipped, Optional bool
	Error             string
	Class             string // ok, failed, skipped, cached
}

// wfCall is one upstream call of a step that made several (foreach),
// on the same time axis, in the rows under its step.
type wfCall struct {
	Step             string
	N                int // 1-based, in the order the calls ended
	X, W, Y          int
	Start, Duration  time.Duration
	Status, Attempts int
	Cache, Breaker   string
	Class            string
}

// waterfall is a call's steps drawn as bars.
type waterfall struct {
	W, H  int
	Label int
	Total time.Duration
	Ticks []wfTick
	Bars  []wfBar
	Calls []wfCall
}

// wfTick is a time mark on the axis.
type wfTick struct {
	X    int
	Text string
}

// waterfallOf draws a call's steps from their start and duration.
func waterfallOf(total time.Duration, steps []pipeline.StepTrace) waterfall {
	for _, s := range steps {
		total = max(total, s.Start+s.Duration)
	}
	total = max(total, time.Millisecond)
	wf := waterfall{Label: wfLabel, Total: total}
	for i := range 5 {
		d := total * time.Duration(i) / 4
		text := duration(d)
		if i == 0 {
			text = "0"
		}
		wf.Ticks = append(wf.Ticks, wfTick{X: wfLabel + int(int64(wfPlot)*int64(i)/4), Text: text})
	}
	row := 1
	for _, s := range steps {
		b := wfBar{
			Name: s.Name, Upstream: s.Upstream, Y: wfRow * row, Start: s.Start, Duration: s.Duration,
			Calls: s.Calls, Attempts: s.Attempts, Status: s.Status, Cache: s.Cache, Breaker: s.Breaker,
			Skipped: s.Skipped, Optional: s.Optional, Error: audit.CallDataOf(&event.Call{Steps: []pipeline.StepTrace{s}}).Steps[0].Error,
		}
		b.X, b.W = span(s.Start, s.Duration, total)
		switch {
		case s.Skipped:
			b.Class, b.W = "skipped", 2
		case s.Err != nil:
			b.Class = "failed"
		case s.Cache == "hit":
			b.Class = "cached"
		default:
			b.Class = "ok"
		}
		wf.Bars = append(wf.Bars, b)
		row++
		if len(s.CallTraces) < 2 {
			continue
		}
		calls := slices.Clone(s.CallTraces)
		slices.SortStableFunc(calls, func(a, b pipeline.CallTrace) int { return cmp.Compare(a.Start, b.Start) })
		for n, ct := range calls {
			c := wfCall{Step: s.Name, N: n + 1, Y: wfRow * row, Start: ct.Start, Duration: ct.Duration, Status: ct.Status,
				Attempts: ct.Attempts, Cache: ct.Cache, Breaker: ct.Breaker, Class: "ok"}
			c.X, c.W = span(ct.Start, ct.Duration, total)
			if ct.Failed {
				c.Class = "failed"
			} else if ct.Cache == "hit" {
				c.Class = "cached"
			}
			wf.Calls = append(wf.Calls, c)
			row++
		}
	}
	wf.W, wf.H = wfLabel+wfPlot+16, wfRow*row+8
	return wf
}

// span places a bar from start for d on an axis of total.
func span(start, d, total time.Duration) (x, w int) {
	return wfLabel + int(int64(wfPlot)*int64(start)/int64(total)), max(2, int(int64(wfPlot)*int64(d)/int64(total)))
}
