package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// formatEvent writes an event for people: one line for the call, one
// indented line per step that ran.
//
//	2026-05-04 10:31:02.114  cityDeals  GET /v1/cities/Berlin/deals  200  41.2ms  rest  client=127.0.0.1 consumer=- cache=miss complete  req=8e1f…
//	    markets      markets      200   3.1ms  cache=miss breaker=closed
func formatEvent(b *strings.Builder, data []byte) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		fmt.Fprintf(b, "(not an audit event: %v) %s\n", err, data)
		return
	}
	at := ev.Time.Local().Format("2006-01-02 15:04:05.000")
	switch ev.Type {
	case TypeCall:
		var d CallData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			fmt.Fprintf(b, "%s  (bad call data: %v)\n", at, err)
			return
		}
		formatCall(b, at, &d)
	case TypeAdmin:
		var d AdminData
		_ = json.Unmarshal(ev.Data, &d)
		details, _ := json.Marshal(d.Details)
		fmt.Fprintf(b, "%s  admin  %s  %s\n", at, d.Action, details)
	default:
		fmt.Fprintf(b, "%s  %s  %s\n", at, ev.Type, ev.Data)
	}
}

func formatCall(b *strings.Builder, at string, d *CallData) {
	consumer := d.Consumer
	if consumer == "" {
		consumer = "-"
	}
	complete := "complete"
	switch {
	case d.Problem != "":
		complete = "failed"
	case len(d.Missing) > 0:
		complete = "incomplete=" + strings.Join(d.Missing, ",")
	case !d.Complete:
		complete = "failed"
	}
	fmt.Fprintf(b, "%s  %s  %s %s  %d  %s  %s  client=%s consumer=%s cache=%s %s",
		at, d.Pipeline, d.Method, d.Path, d.Status, ms(d.DurationMS), d.Surface, d.Client, consumer, d.Cache, complete)
	if len(d.Stale) > 0 {
		fmt.Fprintf(b, " stale=%s", strings.Join(d.Stale, ","))
	}
	if d.Problem != "" {
		fmt.Fprintf(b, " problem=%s", d.Problem)
	}
	fmt.Fprintf(b, "  req=%s\n", d.RequestID)
	for _, s := range d.Steps {
		if s.Skipped {
			fmt.Fprintf(b, "    %-12s %-12s skipped\n", s.Name, s.Upstream)
			continue
		}
		if s.Calls == 0 && s.Error != "" {
			fmt.Fprintf(b, "    %-12s %-12s %s\n", s.Name, s.Upstream, s.Error)
			continue
		}
		fmt.Fprintf(b, "    %-12s %-12s %3d %8s  cache=%s breaker=%s attempts=%d", s.Name, s.Upstream, s.Status, ms(s.DurationMS), s.Cache, s.Breaker, s.Attempts)
		if s.Error != "" {
			fmt.Fprintf(b, "  error=%q", s.Error)
		}
		b.WriteByte('\n')
	}
}

func ms(v float64) string {
	return time.Duration(v * float64(time.Millisecond)).Round(100 * time.Microsecond).String()
}
