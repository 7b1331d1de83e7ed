package security

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestSecretsNeverEmitted runs traffic through every surface of the
// locked-down gateway, good and bad, then greps all the gateway emitted
// for each configured secret: the logs (debug level), the audit events on
// NATS and the calls handed to recorders, every answer's headers and
// body, the OpenAPI documents and plugin manifest, GraphQL answers and
// the admin API. To cover a new surface, add its answers to emitted.
func TestSecretsNeverEmitted(t *testing.T) {
	l := startLab(t)
	emitted := map[string]*strings.Builder{}
	keep := func(source string, a answer) {
		b := emitted[source]
		if b == nil {
			b = &strings.Builder{}
			emitted[source] = b
		}
		for k, vs := range a.header {
			fmt.Fprintf(b, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		b.Write(a.body)
		b.WriteByte('\n')
	}
	s := l.secrets
	credentials := [][]string{
		nil,
		{"X-API-Key", s["buyer key"]}, {"X-API-Key", s["reader key"]}, {"Authorization", "Bearer " + s["buyer key"]},
		{"Authorization", "Bearer " + s["buyer JWT"]}, {"Authorization", "Bearer " + s["opaque token"]},
		{"X-API-Key", s["buyer key"] + "x"}, {"Authorization", "Bearer " + s["buyer JWT"] + "x"},
		{"Authorization", "Bearer " + s["opaque token"] + "x"}, {"X-API-Key", s["admin key"]},
		{"Authorization", "Basic " + s["upstream token"]},
	}
	for _, h := range credentials {
		h = append(h, "Cookie", "session="+s["upstream token"])
		keep("REST", do(t, request(t, "GET", l.base+"/v1/orders", "", h...)))
		keep("REST", do(t, request(t, "POST", l.base+"/v1/orders", `{"sku":"p1"}`, h...)))
		keep("REST", do(t, request(t, "GET", l.base+"/v1/items/x%0d%0a"+s["buyer key"], "", h...)))
		keep("REST", do(t, request(t, "GET", l.base+"/v1/tagged?tag="+s["JWT HS secret"]+"%0d%0a", "", h...)))
		keep("GraphQL", do(t, request(t, "POST", l.base+"/graphql", `{"query":"{ run(pipeline: \"listOrders\") { status data steps { name status error } } }"}`, h...)))
		keep("GraphQL", do(t, request(t, "POST", l.base+"/graphql", `{"query":"mutation { run(pipeline: \"placeOrder\", body: {sku: \"p1\"}) { status data } }"}`, h...)))
	}
	for range 5 {
		keep("REST", do(t, request(t, "GET", l.base+"/v1/limited", "")))
	}
	for _, path := range []string{"/openapi.json", "/openapi.yaml", "/.well-known/ai-plugin.json"} {
		a := do(t, request(t, "GET", l.base+path, ""))
		if a.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, a.status)
		}
		keep("OpenAPI and manifest", a)
	}
	for _, path := range []string{"/config", "/pipelines", "/upstreams", "/upstreams/backend", "/reload"} {
		keep("admin", do(t, request(t, "GET", l.admin+path, "", "X-API-Key", s["admin key"])))
	}
	keep("admin", do(t, request(t, "GET", l.admin+"/config", "", "X-API-Key", s["buyer key"])))

	emitted["logs"] = builder(l.logs.String())
	emitted["recorded calls"] = builder(l.events.json(t))
	emitted["audit events (NATS)"] = builder(auditEvents(t, l.natsURL, l.events.count()))
	for source, b := range emitted {
		if b.Len() == 0 {
			t.Errorf("%s: nothing emitted; the grep would prove nothing", source)
		}
		t.Logf("%s: %d bytes searched for %d secrets", source, b.Len(), len(s))
		for name, secret := range s {
			if strings.Contains(b.String(), secret) {
				t.Errorf("%s contain the %s", source, name)
			}
		}
	}
}

func builder(s string) *strings.Builder {
	b := &strings.Builder{}
	b.WriteString(s)
	return b
}

// auditEvents reads the audit stream once it holds at least want events
// (a message holds one event or a batch).
func auditEvents(t *testing.T, url string, want int) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		text, n, err := readAuditStream(ctx, js)
		if err == nil && n >= want {
			return text
		}
		if ctx.Err() != nil {
			t.Fatalf("the audit stream did not get %d events (%d): %v", want, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readAuditStream returns every message of the stream and its number of
// events.
func readAuditStream(ctx context.Context, js jetstream.JetStream) (string, int, error) {
	stream, err := js.Stream(ctx, "MANIFOLD_AUDIT")
	if err != nil {
		return "", 0, err
	}
	info, err := stream.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return "", 0, err
	}
	var b strings.Builder
	n := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		evs, err := audit.Events(m.Data)
		if err != nil {
			return "", 0, err
		}
		n += len(evs)
		b.Write(m.Data)
		b.WriteByte('\n')
	}
	return b.String(), n, nil
}

// upstreamCredsGateway has an upstream per kind of credential, one that
// follows a redirect to another host, and a backend that echoes what it
// gets in its error answers.
const upstreamCredsGateway = `
admin: {listen: "127.0.0.1:0", key: "${ADMIN_KEY}"}
audit: {nats: "off"}
upstreams:
  geo:
    url: %[1]s
    auth: {type: api_key, in: query, name: key, value: "${GEO_KEY}"}
    query: {appid: "${APP_ID}"}
  bearer: {url: %[1]s, auth: {type: bearer, token: "${BEARER_TOKEN}"}}
  basic: {url: %[1]s, auth: {type: basic, username: svc, password: "${BASIC_PASSWORD}"}}
  oauth:
    url: %[1]s
    auth: {type: oauth2_client_credentials, token_url: "%[2]s/token", client_id: gw, client_secret: "${CLIENT_SECRET}", audience: api}
  moved:
    url: %[1]s
    auth: {type: api_key, in: header, name: X-Key, value: "${GEO_KEY}"}
    follow_redirects: 2
    redirect_hosts: [localhost]
`

// TestUpstreamCredentialsNeverEmitted calls upstreams with every kind of
// credential, through REST, GraphQL (step URLs) and MCP (tool results and
// errors, tools/list, the OpenAPI resource), with a backend
// that echoes the credentials it gets in its errors, then greps logs,
// spans, recorded calls, answers and the admin API for them.
func TestUpstreamCredentialsNeverEmitted(t *testing.T) {
	s := map[string]string{
		"geo key": randomSecret("geo-"), "app id": randomSecret("app-"), "bearer token": randomSecret("bearer-"),
		"basic password": randomSecret("basic-"), "client secret": randomSecret("client-"),
		"access token": randomSecret("access-"), "admin key": randomSecret("admin-"),
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, s["access token"])
	}))
	defer idp.Close()
	other := httptest.NewServer(echo(http.StatusInternalServerError))
	defer other.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/there?key="+s["geo key"], http.StatusFound)
			return
		}
		echo(http.StatusBadRequest)(w, r)
	}))
	defer backend.Close()
	env := map[string]string{"GEO_KEY": s["geo key"], "APP_ID": s["app id"], "BEARER_TOKEN": s["bearer token"],
		"BASIC_PASSWORD": s["basic password"], "CLIENT_SECRET": s["client secret"], "ADMIN_KEY": s["admin key"]}
	files := map[string]string{"gateway.yaml": fmt.Sprintf(upstreamCredsGateway, backend.URL, idp.URL)}
	for _, up := range []string{"geo", "bearer", "basic", "oauth", "moved"} {
		files[up+".yaml"] = fmt.Sprintf("name: %[1]s\npath: /v1/%[1]s\naccess: public\nsteps:\n  s: {upstream: %[1]s, path: /%[1]s, query: {q: x}}\n", up)
	}
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	logs, events, spans := &logtest.Buffer{}, &events{}, tracetest.NewInMemoryExporter()
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base, admin := serve(t, plan, launch.Options{Logger: log, Recorder: events,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))})

	emitted := map[string]*strings.Builder{"REST": {}, "GraphQL": {}, "MCP": {}, "admin": {}}
	sid := openSession(t, base, "127.0.0.1")
	confirm(t, base, "127.0.0.1", sid)
	for _, up := range []string{"geo", "bearer", "basic", "oauth", "moved"} {
		a := do(t, request(t, "GET", base+"/v1/"+up, ""))
		if a.status < 400 {
			t.Errorf("%s: %d, want the backend's refusal", up, a.status)
		}
		emitted["REST"].Write(a.body)
		emitted["GraphQL"].Write(do(t, request(t, "POST", base+"/graphql",
			`{"query":"{ run(pipeline: \"`+up+`\") { status data steps { name url status error } } }"}`)).body)
		emitted["MCP"].Write(mcpAnswers(t, base, sid, up))
	}
	if !strings.Contains(emitted["GraphQL"].String(), "/there?key=REDACTED") {
		t.Errorf("GraphQL does not show the redirect's final URL, redacted: %s", emitted["GraphQL"])
	}
	for _, path := range []string{"/config", "/upstreams", "/upstreams/geo", "/pipelines"} {
		emitted["admin"].Write(do(t, request(t, "GET", admin+path, "", "X-API-Key", s["admin key"])).body)
	}
	emitted["logs"] = builder(logs.String())
	emitted["recorded calls"] = builder(events.json(t))
	emitted["spans"] = builder(spanText(spans.GetSpans()))
	delete(s, "admin key") // sent by the test itself
	for source, b := range emitted {
		if b.Len() == 0 {
			t.Errorf("%s: nothing emitted; the grep would prove nothing", source)
		}
		for name, secret := range s {
			if strings.Contains(b.String(), secret) {
				t.Errorf("%s contain the %s", source, name)
			}
		}
	}
}

// echo answers status with everything it got, credentials included, as a
// careless upstream's error text would.
func echo(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "refused " + r.URL.String() + " " + fmt.Sprint(r.Header)})
	}
}

// spanText is every span's name, attributes, events and status.
func spanText(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintln(&b, s.Name, s.Attributes, s.Events, s.Status)
	}
	return b.String()
}
