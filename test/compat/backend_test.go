package compat

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// The backends below re-implement KrakenD CE's integration-test backend
// (tests/integration.go, Apache-2.0) and the two other hosts its
// krakend.json points at: KrakenD's own /__debug/ endpoint and
// showrss.info.

// krakendBackend is the test backend KrakenD's suite runs on :8081.
func krakendBackend(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/param_forwarding/", checkXForwardedFor(echoEndpoint))
	mux.HandleFunc("/xml", checkXForwardedFor(xmlEndpoint))
	mux.HandleFunc("/collection/", checkXForwardedFor(collectionEndpoint))
	mux.HandleFunc("/delayed/", checkXForwardedFor(delayedEndpoint))
	mux.HandleFunc("/redirect/", checkXForwardedFor(redirectEndpoint))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// checkXForwardedFor refuses a call whose X-Forwarded-For is not a
// loopback address, as the original does: the gateway must send it.
func checkXForwardedFor(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ip := net.ParseIP(r.Header.Get("X-Forwarded-For")); ip == nil || !ip.IsLoopback() {
			http.Error(w, "invalid X-Forwarded-For", http.StatusBadRequest)
			return
		}
		h(w, r)
	}
}

func echoEndpoint(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Content-Type", "application/json")
	w.Header().Add("Set-Cookie", "test1=test1")
	w.Header().Add("Set-Cookie", "test2=test2")
	r.Header.Del("X-Forwarded-For")
	resp := map[string]any{
		"path":    r.URL.Path,
		"query":   r.URL.Query(),
		"headers": r.Header,
		"foo":     42,
	}
	if r.URL.Query().Get("dump_body") == "1" {
		b, _ := io.ReadAll(r.Body)
		resp["body"] = string(b)
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func xmlEndpoint(w http.ResponseWriter, _ *http.Request) {
	w.Header().Add("Content-Type", "application/xml; charset=utf-8")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<user type="admin">
  <name>Elliot</name>
  <social>
    <facebook>https://facebook.com</facebook>
    <twitter>https://twitter.com</twitter>
    <youtube>https://youtube.com</youtube>
  </social>
</user>`)
}

func collectionEndpoint(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Content-Type", "application/json")
	res := make([]any, 0, 10)
	for i := range 10 {
		res = append(res, map[string]any{"path": r.URL.Path, "i": i})
	}
	_ = json.NewEncoder(w).Encode(res)
}

// delayedEndpoint answers later than any gateway timeout in the suite.
// The original sleeps 200ms; this one waits for the gateway to give up
// (the call's context ends), so the test never depends on a sleep.
func delayedEndpoint(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
		return
	case <-time.After(10 * time.Second):
	}
	echoEndpoint(w, r)
}

func redirectEndpoint(w http.ResponseWriter, r *http.Request) {
	u := *r.URL
	u.Path = "/param_forwarding/"
	code, err := strconv.Atoi(r.URL.Query().Get("status"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, u.String(), code)
}

// debugBackend stands for KrakenD's own listener, which some of the
// suite's backends point at: /__debug/ answers {"message":"pong"}, and
// anything else is its router's plain-text 404.
func debugBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__debug" || len(r.URL.Path) >= 9 && r.URL.Path[:9] == "/__debug/" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = io.WriteString(w, `{"message":"pong"}`)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "404 page not found")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rssBackend stands for showrss.info: two RSS feeds per user.
func rssBackend(t *testing.T) *httptest.Server {
	t.Helper()
	feed := func(title string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml; charset=UTF-8")
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:tv="https://showrss.info">
  <channel>
    <title>`+title+`</title>
    <link>https://showrss.info/</link>
    <description>`+title+`</description>
    <item><title>Show S01E01</title><link>https://showrss.info/1</link></item>
    <item><title>Show S01E02</title><link>https://showrss.info/2</link></item>
  </channel>
</rss>`)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /user/schedule/{file}", feed("showRSS schedule feed"))
	mux.HandleFunc("GET /user/{file}", feed("showRSS personal feed"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
