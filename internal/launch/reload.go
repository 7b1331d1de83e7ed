package launch

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/manifoldgw/manifold/internal/admin"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/telemetry"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Debounce is how long the pipeline directory must be quiet after a
// change before it is reloaded: an editor's save (write, rename, chmod)
// or a `cp` of several files gives one reload, not several.
const Debounce = 150 * time.Millisecond

// reloader reloads the pipeline directory into the running gateway: load,
// validate and compile the whole directory, build a new Runtime (keeping
// the upstreams and cache entries that did not change), swap it in, then
// close the old Runtime once the requests it serves have finished. A
// reload that fails at any step leaves the old plan serving.
type reloader struct {
	load    func() (*pipeline.Plan, error) // nil: the plan cannot be reloaded
	srv     *server.Server
	build   server.BuildOptions // Previous is set per reload
	log     *slog.Logger
	metrics *telemetry.Metrics
	audit   admin.Auditor // nil: audit is off
	level   *slog.LevelVar
	drain   time.Duration // how long an old Runtime may take to drain

	mu      sync.Mutex // one reload at a time; guards status and history
	status  admin.ReloadStatus
	history []admin.ReloadStatus // the last reloads, newest last (at most maxHistory)
	first   admin.ReloadStatus   // the start
	retired sync.WaitGroup       // old Runtimes draining
}

var _ admin.Reloader = (*reloader)(nil)

// Status implements admin.Reloader.
func (r *reloader) Status() admin.ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// maxHistory bounds the reloads History keeps.
const maxHistory = 20

// History returns the last reloads (at most maxHistory), newest first;
// the start counts as the first.
func (r *reloader) History() []admin.ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]admin.ReloadStatus, 0, len(r.history)+1)
	for i := len(r.history) - 1; i >= 0; i-- {
		out = append(out, r.history[i])
	}
	if len(r.history) < maxHistory {
		out = append(out, r.first)
	}
	return out
}

// Reload implements admin.Reloader.
func (r *reloader) Reload(ctx context.Context, trigger string) admin.ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	st := admin.ReloadStatus{Trigger: trigger, At: start, ServingSince: r.status.ServingSince}
	old := r.srv.Runtime()
	err := r.swap(old, &st)
	st.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	st.Pipelines = len(r.srv.Runtime().Plan.Pipelines)
	st.OK = err == nil
	r.status = st
	r.history = append(r.history, st)
	if len(r.history) > maxHistory {
		r.history = slices.Delete(r.history, 0, len(r.history)-maxHistory)
	}
	r.metrics.RecordReload(ctx, st.OK)
	r.report(ctx, st, err)
	return st
}

// swap loads, builds and swaps in the new plan, filling st.
func (r *reloader) swap(old *server.Runtime, st *admin.ReloadStatus) error {
	if r.load == nil {
		return fmt.Errorf("this gateway was not started from a directory it can reload")
	}
	plan, err := r.load()
	if err != nil {
		st.Errors = loadErrors(err)
		return err
	}
	opts := r.build
	opts.Previous = old
	rt, err := server.BuildWith(plan, opts)
	if err != nil {
		st.Errors = []string{err.Error()}
		return err
	}
	if err := r.srv.Swap(rt); err != nil {
		rt.Release(old)
		st.Errors = []string{err.Error()}
		return err
	}
	st.ServingSince = st.At
	diffPlans(old, rt, st)
	setLevel(r.level, plan)
	r.retire(old, rt)
	return nil
}

// retire closes old once its requests have finished (or the drain
// deadline passed), keeping what next took over.
func (r *reloader) retire(old, next *server.Runtime) {
	r.retired.Add(1)
	go func() {
		defer r.retired.Done()
		ctx, cancel := context.WithTimeout(context.Background(), r.drain)
		defer cancel()
		if err := old.Drain(ctx); err != nil {
			r.log.Warn("reload: closing the previous plan before its requests finished", "err", err)
		}
		next.PurgeChanged() // what old runs stored while draining
		old.Release(next)
	}()
}

// wait waits for the old Runtimes being retired.
func (r *reloader) wait() { r.retired.Wait() }

// report logs a reload, every load error on its own line with its
// file:line:column, and publishes it as an admin audit event.
func (r *reloader) report(ctx context.Context, st admin.ReloadStatus, err error) {
	details := map[string]any{"trigger": st.Trigger, "ok": st.OK, "pipelines": st.Pipelines, "errors": len(st.Errors)}
	if err != nil {
		if es, ok := yamlconf.AsErrors(err); ok {
			for _, e := range es {
				r.log.ErrorContext(ctx, "reload: "+e.Error(), "trigger", st.Trigger, "file", e.File, "line", e.Line, "column", e.Column)
			}
		} else {
			r.log.ErrorContext(ctx, "reload: "+err.Error(), "trigger", st.Trigger)
		}
		r.log.ErrorContext(ctx, "reload failed: the previous plan keeps serving", "trigger", st.Trigger, "errors", len(st.Errors))
	} else {
		r.log.InfoContext(ctx, "reloaded pipelines", "trigger", st.Trigger, "pipelines", st.Pipelines,
			"added", st.Added, "changed", st.Changed, "removed", st.Removed,
			"upstreams_kept", len(st.Kept), "upstreams_rebuilt", st.Rebuilt, "took_ms", st.DurationMS)
		if len(st.RestartNeeded) > 0 {
			r.log.WarnContext(ctx, "reload: these gateway.yaml keys changed and take effect at the next start",
				"keys", st.RestartNeeded)
		}
		details["added"], details["changed"], details["removed"] = st.Added, st.Changed, st.Removed
	}
	if r.audit != nil {
		if aerr := r.audit(context.WithoutCancel(ctx), "reload", details); aerr != nil {
			r.log.WarnContext(ctx, "reload not audited", "err", aerr)
		}
	}
}

// loadErrors lists a failed load's errors, each file:line:column: message.
func loadErrors(err error) []string {
	es, ok := yamlconf.AsErrors(err)
	if !ok {
		return []string{err.Error()}
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// diffPlans says what a reload changed.
func diffPlans(old, next *server.Runtime, st *admin.ReloadStatus) {
	for _, p := range next.Plan.Pipelines {
		switch o := old.Plan.Pipeline(p.Name); {
		case o == nil:
			st.Added = append(st.Added, p.Name)
		case o.SHA256 != p.SHA256:
			st.Changed = append(st.Changed, p.Name)
		}
	}
	for _, o := range old.Plan.Pipelines {
		if next.Plan.Pipeline(o.Name) == nil {
			st.Removed = append(st.Removed, o.Name)
		}
	}
	for _, u := range next.Upstreams() {
		if old.Upstream(u.Name()) == u {
			st.Kept = append(st.Kept, u.Name())
		} else {
			st.Rebuilt = append(st.Rebuilt, u.Name())
		}
	}
	st.RestartNeeded = restartNeeded(old.Plan.Gateway, next.Plan.Gateway)
}

// setLevel applies telemetry.log_level to level, if both are set.
func setLevel(level *slog.LevelVar, plan *pipeline.Plan) {
	if level == nil || plan.Gateway.Telemetry.LogLevel == "" {
		return
	}
	var l slog.Level
	if l.UnmarshalText([]byte(plan.Gateway.Telemetry.LogLevel)) == nil {
		level.Set(l)
	}
}

// watcher watches dir for changes to its pipeline files; nil when dir
// is "". It is made before the gateway says it is ready, so an edit made
// right after start is seen.
func watcher(dir string) (*fsnotify.Watcher, error) {
	if dir == "" {
		return nil, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	return w, nil
}

// watch reloads on changes to the pipeline files w sees (w may be nil),
// debounced, and on every receive from signals, until ctx ends. It
// closes w.
func (r *reloader) watch(ctx context.Context, w *fsnotify.Watcher, signals <-chan struct{}) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if ok && relevant(ev) {
				timer.Reset(Debounce)
			}
		case err, ok := <-errs:
			if ok {
				r.log.Warn("watching the pipeline directory", "err", err)
			}
		case <-timer.C:
			r.Reload(ctx, "file")
		case _, ok := <-signals:
			if !ok {
				signals = nil
				continue
			}
			r.Reload(ctx, "signal")
		}
	}
}

// relevant reports whether a change can change the plan: a YAML file, or
// Kubernetes' atomic swap of a mounted ConfigMap (the ..data symlink).
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	base := filepath.Base(ev.Name)
	if strings.HasPrefix(base, "..data") {
		return true
	}
	ext := filepath.Ext(base)
	return !strings.HasPrefix(base, ".") && slices.Contains([]string{".yaml", ".yml"}, ext)
}
