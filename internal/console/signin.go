package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Messages of the sign-in form.
const (
	msgWrongKey = "That admin key is not right. Wrong keys count toward a limit per address (auth.max_failures)."
	msgTooMany  = "Too many wrong admin keys from your address: try again in %s seconds."
)

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if se, _ := c.sessions.get(r); se != nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "signin", page{Title: "Sign in"})
}

// signin checks the admin key and starts a session. A client address
// that sent too many wrong keys lately is refused before its key is
// looked at, as the gateway's own credentials are (auth.max_failures).
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	rate := c.opts.Server.Runtime().Plan.Gateway.Auth.MaxFailures
	client := peerIP(r)
	if rate != nil {
		if wait, over := c.failures.Exhausted(rate, client); over {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			c.render(w, r, nil, http.StatusTooManyRequests, "signin", page{Title: "Sign in",
				Message: fmt.Sprintf(msgTooMany, strconv.Itoa(wait))})
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	got := r.PostFormValue("key")
	want := sha256.Sum256([]byte(c.opts.Key))
	sum := sha256.Sum256([]byte(got))
	if got == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		if rate != nil {
			c.failures.Fail(rate, client)
		}
		c.opts.Logger.WarnContext(r.Context(), "console sign-in refused: wrong admin key", "client", client)
		c.render(w, r, nil, http.StatusUnauthorized, "signin", page{Title: "Sign in", Message: msgWrongKey})
		return
	}
	setCookie(w, r, c.sessions.create(), c.opts.Now().Add(SessionTTL))
	c.opts.Logger.InfoContext(r.Context(), "console sign-in", "client", client)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, _ *session) {
	if _, key := c.sessions.get(r); key != "" {
		c.sessions.drop(key)
	}
	setCookie(w, r, "", time.Unix(0, 0))
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// peerIP is the admin listener's TCP peer: the admin listener trusts no
// proxy headers.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
