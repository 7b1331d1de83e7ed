package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/problem"
)

// Cluster fans the admin API's actions out to the other replicas of the
// cluster (a *control.Client does). Each replica acts and audits on its
// own; the answer lists the replicas that acted, failed, or did not
// answer in time.
type Cluster interface {
	// Replica is this replica's id and address.
	Replica() (id, address string)
	Reload(ctx context.Context) (control.Result, error)
	Purge(ctx context.Context, scope control.PurgeScope) (control.Result, error)
	ForceBreaker(ctx context.Context, upstream, state string) (control.Result, error)
}

// ReplicasView is the "replicas" member of an action's answer in cluster
// mode, each list sorted by replica id; this replica's entry carries no
// result (the answer's body is its result).
type ReplicasView struct {
	Acted       []control.Reply   `json:"acted"`
	Failed      []control.Reply   `json:"failed"`
	NotAnswered []control.Replica `json:"not_answered"`
	// Error says why the other replicas could not be asked (NATS down):
	// then this replica alone acted.
	Error string `json:"error,omitempty"`
}

// answer writes an action's outcome on this replica and, in cluster
// mode, fans it out first unless the request itself was wrong (400): the
// body is the local answer (or problem) with a "replicas" member, and the
// status is the local one.
func (a *API) answer(w http.ResponseWriter, r *http.Request, res any, err error, fan func(context.Context, Cluster) (control.Result, error)) {
	var ae *control.ActionError
	refused := errors.As(err, &ae)
	if a.opts.Cluster == nil || (refused && ae.Code == http.StatusBadRequest) {
		a.answerLocal(w, res, err)
		return
	}
	body, status := localBody(res, err)
	view := ReplicasView{Acted: []control.Reply{}, Failed: []control.Reply{}, NotAnswered: []control.Replica{}}
	id, addr := a.opts.Cluster.Replica()
	self := control.Reply{Replica: id, Address: addr, OK: err == nil}
	if err != nil {
		self.Code, self.Error = status, body["detail"].(string)
		view.Failed = append(view.Failed, self)
	} else {
		view.Acted = append(view.Acted, self)
	}
	out, ferr := fan(r.Context(), a.opts.Cluster)
	if ferr != nil {
		view.Error = "the other replicas were not asked: " + ferr.Error()
		a.opts.Logger.WarnContext(r.Context(), "admin action reached this replica only", "err", ferr)
	}
	view.Acted = append(view.Acted, out.Acted...)
	view.Failed = append(view.Failed, out.Failed...)
	view.NotAnswered = append(view.NotAnswered, out.NotAnswered...)
	byID := func(a, b control.Reply) int { return strings.Compare(a.Replica, b.Replica) }
	slices.SortFunc(view.Acted, byID)
	slices.SortFunc(view.Failed, byID)
	body["replicas"] = view
	if err != nil && res == nil {
		writeProblemMap(w, status, body)
		return
	}
	writeJSON(w, status, body)
}

// answerLocal is the answer of a gateway that is not in a cluster.
func (a *API) answerLocal(w http.ResponseWriter, res any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, res)
	case res != nil: // a failed reload answers its status
		var ae *control.ActionError
		status := http.StatusInternalServerError
		if errors.As(err, &ae) {
			status = ae.Code
		}
		writeJSON(w, status, res)
	default:
		actionProblem(w, err)
	}
}

// localBody is the local answer as a JSON object, and its status.
func localBody(res any, err error) (map[string]any, int) {
	status := http.StatusOK
	var p *problem.Problem
	if err != nil {
		p = problem.New("internal", http.StatusInternalServerError, "the admin action failed")
		var ae *control.ActionError
		if errors.As(err, &ae) {
			p = problem.New(ae.Slug, ae.Code, ae.Detail)
		}
		status = p.Status
	}
	src := res
	if res == nil && p != nil {
		src = p
	}
	body := map[string]any{}
	if raw, merr := json.Marshal(src); merr == nil {
		_ = json.Unmarshal(raw, &body)
	}
	if p != nil {
		body["detail"] = p.Detail
	}
	return body, status
}

// writeProblemMap writes a problem document with extension members.
func writeProblemMap(w http.ResponseWriter, status int, body map[string]any) {
	raw, err := json.Marshal(body)
	if err != nil {
		fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", problem.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}
