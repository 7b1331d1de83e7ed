package security

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

const labAudience = "manifold-lab"

// lab is a locked-down gateway with everything it talks to: a backend that
// records every call, an identity provider (JWKS and introspection), and
// a NATS server for audit events. Everything the gateway emits is kept.
type lab struct {
	base, admin string
	backend     *recorder
	idp         *idp
	logs        *logtest.Buffer
	events      *events
	natsURL     string
	secrets     map[string]string // what must never be emitted, by name
}

func randomSecret(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

const labGateway = `
server:
  max_body: 1KiB
  read_header_timeout: 300ms
admin: {listen: "127.0.0.1:0", key: "${ADMIN_KEY}"}
upstreams:
  backend:
    url: %[1]s
    headers: {Authorization: "Bearer ${UPSTREAM_TOKEN}"}
auth:
  api_key: {header: X-API-Key}
  jwt:
    issuer: %[2]s
    audience: ` + labAudience + `
    jwks_url: %[2]s/jwks
    algorithms: [RS256]
    roles_claim: realm_access.roles
    keys: [{kid: hs1, secret: "${JWT_HS_SECRET}"}]
  introspection: {url: "%[2]s/introspect", client_id: manifold, client_secret: "${INTROSPECTION_SECRET}"}
consumers:
  buyer:  {key_sha256: %[3]s, roles: [buyer, reader]}
  reader: {key_sha256: %[4]s, roles: [reader]}
defaults:
  access: {roles: [reader]}
audit: {nats: "%[5]s", data_dir: "%[6]s"}
`

var labPipelines = map[string]string{
	"list-orders.yaml": `
name: listOrders
path: /v1/orders
steps:
  orders: {upstream: backend, path: /orders}
`,
	"place-order.yaml": `
name: placeOrder
method: POST
path: /v1/orders
access: {roles: [buyer]}
body: {description: An order, schema: {type: object}}
steps:
  order: {upstream: backend, method: POST, path: /orders, body: "${ .body }"}
`,
	"item.yaml": `
name: item
path: /v1/items/{id}
params: {id: {in: path, type: string, description: Item id}}
access: public
steps:
  fetch: {upstream: backend, path: "/items/${ .params.id }"}
`,
	"tagged.yaml": `
name: tagged
path: /v1/tagged
params: {tag: {in: query, type: string, required: true}}
access: public
steps:
  t: {upstream: backend, path: /tagged, headers: {X-Tag: "${ .params.tag }"}}
`,
	"limited.yaml": `
name: limited
path: /v1/limited
access: {public: true, rate: 3/min}
steps:
  l: {upstream: backend, path: /limited}
`,
}

// startLab starts the locked-down gateway.
func startLab(t testing.TB) *lab {
	t.Helper()
	l := &lab{backend: newRecorder(t), idp: newIDP(t), logs: &logtest.Buffer{}, events: &events{}}
	l.secrets = map[string]string{
		"upstream token":       randomSecret("upstream-"),
		"JWT HS secret":        randomSecret("hs-secret-"),
		"introspection secret": randomSecret("introspect-"),
		"admin key":            randomSecret("admin-"),
		"buyer key":            randomSecret("mfk_buyer"),
		"reader key":           randomSecret("mfk_reader"),
		"opaque token":         l.idp.opaque,
	}
	l.secrets["buyer JWT"] = l.idp.token(t, tokenClaims{roles: []string{"buyer", "reader"}})
	env := map[string]string{
		"UPSTREAM_TOKEN": l.secrets["upstream token"], "JWT_HS_SECRET": l.secrets["JWT HS secret"],
		"INTROSPECTION_SECRET": l.secrets["introspection secret"], "ADMIN_KEY": l.secrets["admin key"],
	}
	l.idp.clientSecret = l.secrets["introspection secret"]
	l.natsURL = startNATS(t)
	dir := t.TempDir()
	files := map[string]string{"gateway.yaml": fmt.Sprintf(labGateway, l.backend.srv.URL, l.idp.srv.URL,
		hash(l.secrets["buyer key"]), hash(l.secrets["reader key"]), l.natsURL, filepath.Join(dir, "audit"))}
	for name, content := range labPipelines {
		files[name] = content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l.base, l.admin = serve(t, plan, launch.Options{Logger: log, Recorder: l.events})
	return l
}

// serve runs launch.Serve as `manifold serve` does, on ephemeral ports.
func serve(t testing.TB, plan *pipeline.Plan, opts launch.Options) (base, admin string) {
	t.Helper()
	return launchtest.Serve(t, plan, opts)
}

// loadFiles writes files (name → content) into a fresh directory and
// loads it as a pipeline directory.
func loadFiles(t testing.TB, files map[string]string) *pipeline.Plan {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return plan
}

func startNATS(t testing.TB) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

// recorder is a backend that records every request it gets.
type recorder struct {
	srv   *httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	last  *http.Request
	paths []string
}

func newRecorder(t testing.TB) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.calls.Add(1)
		rec.mu.Lock()
		rec.last = r.Clone(context.Background())
		rec.paths = append(rec.paths, r.URL.EscapedPath())
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) lastRequest() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// idp is the identity provider: RS256 keys in a JWKS, and an RFC 7662
// introspection endpoint knowing one opaque token.
type idp struct {
	srv          *httptest.Server
	key          jwk.Key // kid k1, published
	raw          *rsa.PrivateKey
	opaque       string
	clientSecret string
}

func newIDP(t testing.TB) *idp {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwk.Import(raw)
	_ = key.Set(jwk.KeyIDKey, "k1")
	p := &idp{key: key, raw: raw, opaque: randomSecret("opaque-")}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jwks":
			pub, _ := key.PublicKey()
			set := jwk.NewSet()
			_ = set.AddKey(pub)
			_ = json.NewEncoder(w).Encode(set)
		case "/introspect":
			if _, secret, _ := r.BasicAuth(); secret != p.clientSecret {
				http.Error(w, "bad client", http.StatusUnauthorized)
				return
			}
			if r.PostFormValue("token") == p.opaque {
				fmt.Fprintf(w, `{"active":true,"sub":"svc-reporting","scope":"reader","exp":%d}`, time.Now().Add(time.Hour).Unix())
				return
			}
			_, _ = io.WriteString(w, `{"active":false}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

type tokenClaims struct {
	roles    []string
	aud      string
	iss      string
	exp, nbf time.Time
}

// token signs claims with the published key (or key, when given).
func (p *idp) token(t testing.TB, c tokenClaims, key ...jwk.Key) string {
	t.Helper()
	now := time.Now()
	if c.exp.IsZero() {
		c.exp = now.Add(time.Hour)
	}
	b := jwt.NewBuilder().Issuer(or(c.iss, p.srv.URL)).Audience([]string{or(c.aud, labAudience)}).
		Subject("alice").IssuedAt(now.Add(-time.Minute)).Expiration(c.exp).
		Claim("realm_access", map[string]any{"roles": c.roles})
	if !c.nbf.IsZero() {
		b = b.NotBefore(c.nbf)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	k := p.key
	if len(key) > 0 {
		k = key[0]
	}
	out, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), k))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// events keeps every finished call, as the audit publisher gets it.
type events struct {
	mu    sync.Mutex
	calls []*event.Call
}

func (e *events) Record(_ context.Context, c *event.Call) {
	e.mu.Lock()
	e.calls = append(e.calls, c)
	e.mu.Unlock()
}

func (e *events) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

func (e *events) json(t testing.TB) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := json.Marshal(e.calls)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answer is what the gateway sent back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// problemType is the answer's problem type slug, or "".
func (a answer) problemType() string {
	var p struct{ Type string }
	if a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(a.body, &p) != nil {
		return ""
	}
	const prefix = "urn:manifold:problem:"
	if len(p.Type) > len(prefix) {
		return p.Type[len(prefix):]
	}
	return p.Type
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// request builds a request with headers given as name, value pairs.
func request(t testing.TB, method, url, body string, headers ...string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}
