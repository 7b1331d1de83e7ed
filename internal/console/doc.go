// Package console is the operator console: server-rendered pages at
// /console/ on the admin listener (only when the admin API is on) that
// show the pipelines, the traffic and the upstreams, and act on them
// through the admin API's own functions (admin.API), so that an action
// from the console is checked and audited exactly as the same action over
// the admin API.
//
// Everything is embedded (html/template pages, one stylesheet, one small
// script); nothing is fetched from elsewhere and the Content-Security-
// Policy allows only the console's own origin, with no inline script or
// style. Charts (sparklines, the step graph, the waterfall) are plain SVG
// drawn on the server, so the pages work without JavaScript; the script
// only streams Live and filters its rows.
//
// Sign-in takes the admin key and gives a session cookie (HttpOnly,
// SameSite=Strict, Secure under TLS, 8 hours); every POST carries the
// session's synchronizer CSRF token; wrong keys count toward
// auth.max_failures per client address.
//
// The traffic figures come from Ring, an event.Recorder fed every
// finished call: per pipeline and per upstream, per-minute slots over the
// last 15 minutes, and the last calls for Live.
package console
