package cluster

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// adminKey is the replicas' admin key (MANIFOLD_ADMIN_KEY) in
// TestClusterAdmin.
const adminKey = "cluster-admin-key-0123456789abcdef"

// TestClusterAdmin: a cache purge and a forced-open breaker asked of one
// replica's admin API reach all 3, `manifold cluster status` lists the 3,
// and so does the operator console of one of them.
func TestClusterAdmin(t *testing.T) {
	t.Parallel()
	h := New(t, 3)
	h.Env["MANIFOLD_ADMIN_KEY"] = adminKey
	h.Push(h.Dir(map[string]string{
		"gateway.yaml": gatewayYAML("") + "admin: {key: \"${MANIFOLD_ADMIN_KEY}\"}\n",
		"hello.yaml":   helloYAML("1") + "cache: 1m\n",
	}), nil)
	rs := []*Replica{}
	for _, id := range []string{"replica-a", "replica-b", "replica-c"} {
		rs = append(rs, h.Start(id, nil, "--admin-listen", "127.0.0.1:0"))
	}
	ids := []string{"replica-a", "replica-b", "replica-c"}
	t.Run("Purge", func(t *testing.T) {
		for _, r := range rs {
			cacheState(t, r) // stored
			if got := cacheState(t, r); got != "hit" {
				t.Fatalf("replica %s: second GET is a cache %s, want hit", r.ID, got)
			}
		}
		acted := adminCall(t, rs[0], http.MethodPost, "/cache/purge", `{"all": true}`)
		if !sameIDs(acted, ids) {
			t.Errorf("the purge's replicas.acted is %v, want %v", acted, ids)
		}
		for _, r := range rs {
			if got := cacheState(t, r); got != "miss" {
				t.Errorf("replica %s: after the purge asked of replica-a, GET is a cache %s, want miss", r.ID, got)
			}
		}
	})
	t.Run("Breaker", func(t *testing.T) {
		acted := adminCall(t, rs[0], http.MethodPut, "/upstreams/backend/breaker", `{"state": "open"}`)
		if !sameIDs(acted, ids) {
			t.Errorf("the breaker force's replicas.acted is %v, want %v", acted, ids)
		}
		for _, r := range rs {
			if st := breakerState(t, r, "backend"); st.State != "open" || st.Override != "open" {
				t.Errorf("replica %s: breaker of backend %+v, want forced open", r.ID, st)
			}
		}
		adminCall(t, rs[1], http.MethodPut, "/upstreams/backend/breaker", `{"state": "auto"}`)
		for _, r := range rs {
			if st := breakerState(t, r, "backend"); st.Override != "auto" {
				t.Errorf("replica %s: breaker of backend %+v after auto asked of replica-b", r.ID, st)
			}
		}
	})
	t.Run("Status", func(t *testing.T) {
		out, err := h.run(nil, "cluster", "status", "--nats", h.NATS.URLs(), "--cluster", h.Name)
		if err != nil {
			t.Fatalf("manifold cluster status: %v\n%s", err, out)
		}
		for _, id := range ids {
			if !strings.Contains(out, id) {
				t.Errorf("manifold cluster status does not list %s:\n%s", id, out)
			}
		}
	})
	t.Run("Console", func(t *testing.T) {
		table := consoleReplicas(t, rs[2])
		for _, id := range ids {
			if !strings.Contains(table, `<th scope="row">`+id+`</th>`) {
				t.Errorf("the console's Cluster replicas table does not list %s:\n%s", id, table)
			}
		}
	})
}

// cacheState is the Manifold-Cache header of GET /v1/hello on r.
func cacheState(t *testing.T, r *Replica) string {
	t.Helper()
	resp, err := http.Get(r.Base + "/v1/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("replica %s: GET /v1/hello: %s", r.ID, resp.Status)
	}
	return resp.Header.Get("Manifold-Cache")
}

// adminCall sends an admin action to r with the admin key and returns
// the ids of the replicas that acted.
func adminCall(t *testing.T, r *Replica, method, path, body string) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, r.AdminURL(t)+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Replicas struct {
			Acted []struct{ Replica string }
		}
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s on %s: %s %s", method, path, r.ID, resp.Status, raw)
	}
	ids := []string{}
	for _, a := range out.Replicas.Acted {
		ids = append(ids, a.Replica)
	}
	return ids
}

func sameIDs(got, want []string) bool { return strings.Join(got, ",") == strings.Join(want, ",") }

// breakerView is the breaker of an upstream in the admin API.
type breakerView struct{ State, Override string }

// breakerState reads upstream's breaker from r's admin GET /upstreams.
func breakerState(t *testing.T, r *Replica, upstream string) breakerView {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, r.AdminURL(t)+"/upstreams", nil)
	req.Header.Set("X-API-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Upstreams []struct {
			Name    string
			Breaker breakerView
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("replica %s GET /upstreams: %v", r.ID, err)
	}
	for _, u := range out.Upstreams {
		if u.Name == upstream {
			return u.Breaker
		}
	}
	t.Fatalf("replica %s GET /upstreams: no %s", r.ID, upstream)
	return breakerView{}
}

// consoleReplicas signs in to r's operator console with the admin key
// (the form, then the session cookie) and returns the "Cluster replicas"
// section of its Config page.
func consoleReplicas(t *testing.T, r *Replica) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(r.AdminURL(t)+"/console/signin", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(r.AdminURL(t) + "/console/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	_, section, ok := strings.Cut(string(page), `id="cluster-title"`)
	section, _, _ = strings.Cut(section, "</section>")
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("replica %s /console/config: %s, no Cluster replicas section\n%s", r.ID, resp.Status, page)
	}
	return section
}
