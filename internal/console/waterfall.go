package console

import (
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

// waterfall is a call's steps drawn as bars.
type waterfall struct {
	W, H  int
	Label int
	Total time.Duration
	Ticks []wfTick
	Bars  []wfBar
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
	wf := waterfall{W: wfLabel + wfPlot + 16, H: wfRow*(len(steps)+1) + 8, Label: wfLabel, Total: total}
	for i := range 5 {
		d := total * time.Duration(i) / 4
		wf.Ticks = append(wf.Ticks, wfTick{X: wfLabel + int(int64(wfPlot)*int64(i)/4), Text: duration(d)})
	}
	for i, s := range steps {
		b := wfBar{
			Name: s.Name, Upstream: s.Upstream, Y: wfRow * (i + 1), Start: s.Start, Duration: s.Duration,
			Calls: s.Calls, Attempts: s.Attempts, Status: s.Status, Cache: s.Cache, Breaker: s.Breaker,
			Skipped: s.Skipped, Optional: s.Optional, Error: audit.CallDataOf(&event.Call{Steps: []pipeline.StepTrace{s}}).Steps[0].Error,
		}
		b.X = wfLabel + int(int64(wfPlot)*int64(s.Start)/int64(total))
		b.W = max(2, int(int64(wfPlot)*int64(s.Duration)/int64(total)))
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
	}
	return wf
}
