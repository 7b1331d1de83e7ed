package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/manifoldgw/manifold/internal/control"
)

// confirmation is the page that asks before an action runs: the same
// form again, with confirm=yes. It needs no script, so the keyboard and
// any browser can answer it.
type confirmation struct {
	Question string
	Action   string            // the form's URL
	Fields   map[string]string // the action's fields, sent again
	Back     string            // where Cancel goes
}

// breaker forces an upstream's breaker open or closed, or back to auto,
// through admin.API.ForceBreaker (checked and audited as the admin API's
// PUT /upstreams/{name}/breaker).
func (c *Console) breaker(w http.ResponseWriter, r *http.Request, se *session) {
	name, state := r.PathValue("name"), r.PostFormValue("state")
	if r.PostFormValue("confirm") != "yes" {
		q := fmt.Sprintf("Force the breaker of upstream %s %s?", name, state)
		if state == "auto" {
			q = fmt.Sprintf("Give the breaker of upstream %s back to its automatic state?", name)
		}
		c.confirm(w, r, se, confirmation{Question: q, Action: r.URL.Path, Fields: map[string]string{"state": state}, Back: "/console/upstreams"})
		return
	}
	v, replicas, err := c.opts.Admin.ForceBreaker(r.Context(), name, state)
	if err != nil {
		c.actionFailed(w, r, se, err)
		return
	}
	c.flash(se, join(fmt.Sprintf("Breaker of %s: override %s, state %s.", v.Name, v.Breaker.Override, v.Breaker.State), replicas))
	http.Redirect(w, r, "/console/upstreams", http.StatusSeeOther)
}

// purge empties a part of the cache through admin.API.Purge.
func (c *Console) purge(w http.ResponseWriter, r *http.Request, se *session) {
	in := control.PurgeScope{All: r.PostFormValue("all") == "true", Pipeline: r.PostFormValue("pipeline"), Upstream: r.PostFormValue("upstream")}
	if r.PostFormValue("confirm") != "yes" {
		what, fields := "the whole cache", map[string]string{"all": r.PostFormValue("all")}
		switch {
		case in.Pipeline != "":
			what, fields = "the cached answers of pipeline "+in.Pipeline, map[string]string{"pipeline": in.Pipeline}
		case in.Upstream != "":
			what, fields = "the cached answers of upstream "+in.Upstream+" (and the pipeline answers built from them)", map[string]string{"upstream": in.Upstream}
		}
		c.confirm(w, r, se, confirmation{Question: "Purge " + what + "?", Action: r.URL.Path, Fields: fields, Back: "/console/upstreams"})
		return
	}
	details, replicas, err := c.opts.Admin.Purge(r.Context(), in)
	if err != nil {
		c.actionFailed(w, r, se, err)
		return
	}
	msg := "Purged the whole cache."
	switch details["scope"] {
	case "pipeline":
		msg = fmt.Sprintf("Purged the cached answers of pipeline %v.", details["pipeline"])
	case "upstream":
		msg = fmt.Sprintf("Purged the cached answers of upstream %v (pipelines %v).", details["upstream"], details["pipelines"])
	}
	c.flash(se, join(msg, replicas))
	http.Redirect(w, r, "/console/upstreams", http.StatusSeeOther)
}

func (c *Console) confirm(w http.ResponseWriter, r *http.Request, se *session, q confirmation) {
	c.render(w, r, se, http.StatusOK, "confirm", page{Title: "Confirm", Nav: "upstreams", Data: q})
}

// actionFailed shows the admin API's problem for an action.
func (c *Console) actionFailed(w http.ResponseWriter, r *http.Request, se *session, err error) {
	var ae *control.ActionError
	if errors.As(err, &ae) {
		c.fail(w, r, se, ae.Code, ae.Detail)
		return
	}
	c.fail(w, r, se, http.StatusInternalServerError, "The action failed.")
}

// join adds the cluster's outcome, if any, to a flash message.
func join(msg, replicas string) string {
	if replicas == "" {
		return msg
	}
	return msg + " " + replicas
}
