package console

import (
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/audit"
)

// auditState is the audit publisher's state as the overview shows it.
type auditState struct {
	On        bool
	Connected bool
	Spooling  bool
	Pending   int   // spooled events not yet acknowledged
	Bytes     int64 // spool size on disk
	Dropped   uint64
	Published uint64
	Queued    int
}

func (c *Console) auditState() auditState {
	if c.opts.Audit == nil {
		return auditState{}
	}
	s := c.opts.Audit.Stats()
	return auditState{On: true, Connected: s.Connected, Spooling: s.SpoolPending > 0 || !s.Connected,
		Pending: s.SpoolPending, Bytes: s.SpoolBytes, Dropped: s.Dropped, Published: s.Published, Queued: s.Queued + s.InFlight}
}

// overviewRow is one pipeline on the overview.
type overviewRow struct {
	admin.PipelineView
	Stats
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, se *session) {
	views := c.opts.Admin.Pipelines()
	names := make([]string, len(views))
	for i, v := range views {
		names[i] = v.Name
	}
	stats := c.opts.Calls.PipelineStats(names)
	rows := make([]overviewRow, len(views))
	for i := range views {
		rows[i] = overviewRow{views[i], stats[i]}
	}
	c.render(w, r, se, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: map[string]any{
		"Rows": rows, "Audit": c.auditState(), "Window": Window,
	}})
}

// upstreamRow is one upstream on the upstreams page.
type upstreamRow struct {
	admin.UpstreamView
	Stats
	Pipelines []string // the pipelines whose steps call it
}

func (c *Console) upstreams(w http.ResponseWriter, r *http.Request, se *session) {
	views := c.opts.Admin.Upstreams()
	names := make([]string, len(views))
	for i, v := range views {
		names[i] = v.Name
	}
	stats := c.opts.Calls.UpstreamStats(names)
	pipes := c.opts.Admin.Pipelines()
	rows := make([]upstreamRow, len(views))
	for i := range views {
		rows[i] = upstreamRow{UpstreamView: views[i], Stats: stats[i]}
		for _, p := range pipes {
			if slices.Contains(p.Upstreams, views[i].Name) {
				rows[i].Pipelines = append(rows[i].Pipelines, p.Name)
			}
		}
	}
	cached := []string{}
	for _, p := range pipes {
		if p.Cache != "" {
			cached = append(cached, p.Name)
		}
	}
	c.render(w, r, se, http.StatusOK, "upstreams", page{Title: "Upstreams", Nav: "upstreams", Data: map[string]any{
		"Rows": rows, "CachedPipelines": cached, "HasCache": c.opts.Server.Runtime().Cache() != nil,
	}})
}

// historian is a Reloader that also keeps its last reloads.
type historian interface {
	History() []admin.ReloadStatus
}

func (c *Console) config(w http.ResponseWriter, r *http.Request, se *session) {
	data := map[string]any{"CanReload": c.opts.Reloader != nil}
	if c.opts.Reloader != nil {
		st := c.opts.Reloader.Status()
		data["Status"] = st
		if h, ok := c.opts.Reloader.(historian); ok {
			hist := h.History()
			data["History"] = hist
			for _, past := range hist {
				if !past.OK {
					data["LastError"] = past
					break
				}
			}
		}
	}
	plan := c.opts.Server.Runtime().Plan
	data["Dir"] = plan.Dir
	data["Pipelines"] = admin.EffectiveConfig(plan)["pipelines"]
	c.render(w, r, se, http.StatusOK, "config", page{Title: "Configuration", Nav: "config", Data: data})
}

// call shows one recent call: its waterfall and its audit event.
func (c *Console) call(w http.ResponseWriter, r *http.Request, se *session) {
	ev := c.opts.Calls.Call(r.PathValue("id"))
	if ev == nil {
		c.fail(w, r, se, http.StatusNotFound, "No recent call has that request id (the console keeps the last 500).")
		return
	}
	data := audit.CallDataOf(ev)
	c.render(w, r, se, http.StatusOK, "call", page{Title: "Call " + ev.RequestID, Nav: "live", Data: map[string]any{
		"Call": ev, "Waterfall": waterfallOf(ev.Duration, ev.Steps), "Audit": indentJSON(data),
	}})
}

// flash records an action's outcome for the next page.
func (c *Console) flash(se *session, msg string) { c.sessions.setFlash(se, msg) }
