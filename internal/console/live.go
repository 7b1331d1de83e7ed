package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/problem"
)

// liveCall is a finished call as the Live page lists it.
type liveCall struct {
	ID       string  `json:"id"`
	Time     string  `json:"time"`
	Surface  string  `json:"surface"`
	Pipeline string  `json:"pipeline"`
	Status   int     `json:"status"`
	Consumer string  `json:"consumer"`
	Millis   float64 `json:"ms"`
	Cache    string  `json:"cache"`
}

func liveOf(c *event.Call) liveCall {
	return liveCall{ID: c.RequestID, Time: c.Start.Format("15:04:05.000"), Surface: c.Surface, Pipeline: c.Pipeline,
		Status: c.Status, Consumer: c.Consumer, Millis: float64(c.Duration.Microseconds()) / 1000, Cache: c.Cache}
}

// live is the page; the script fills it from events.
func (c *Console) live(w http.ResponseWriter, r *http.Request, se *session) {
	views := c.opts.Admin.Pipelines()
	names := make([]string, len(views))
	for i, v := range views {
		names[i] = v.Name
	}
	var consumers []string
	for name := range c.opts.Server.Runtime().Plan.Gateway.Consumers {
		consumers = append(consumers, "key:"+name)
	}
	slices.Sort(consumers)
	recent := c.opts.Calls.Recent(50)
	rows := make([]liveCall, len(recent))
	for i, rc := range recent {
		rows[i] = liveOf(rc)
	}
	c.render(w, r, se, http.StatusOK, "live", page{Title: "Live", Nav: "live", Data: map[string]any{
		"Pipelines": names, "Consumers": consumers, "Rows": rows,
	}})
}

// heartbeat keeps idle streams (and proxies) awake.
const heartbeat = 15 * time.Second

// events streams finished calls as server-sent events, one `call` event
// (JSON) per call, as they are recorded. The stream takes one of the
// gateway's long-lived stream slots (server.max_streams).
func (c *Console) events(w http.ResponseWriter, r *http.Request, _ *session) {
	calls, stop, ok := c.opts.Calls.Watch()
	if !ok {
		problem.Write(w, problem.New("too-many-streams", http.StatusServiceUnavailable, "the console feeds as many Live pages as it may; close one"))
		return
	}
	defer stop()
	st, err := c.opts.Server.OpenStream(w, r)
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			problem.Write(w, pe.P)
		}
		return
	}
	defer st.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_, _ = fmt.Fprint(w, ": live calls\n\n")
	_ = rc.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-st.Context().Done():
			return
		case <-c.done:
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
		case ev := <-calls:
			b, _ := json.Marshal(liveOf(ev)) // plain fields: cannot fail
			_, err = fmt.Fprintf(w, "event: call\ndata: %s\n\n", b)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
