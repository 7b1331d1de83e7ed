package security

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// auditEvents reads the audit stream once it holds at least want events.
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
	var stream jetstream.Stream
	for {
		if stream, err = js.Stream(ctx, "MANIFOLD_AUDIT"); err == nil {
			info, err := stream.Info(ctx)
			if err == nil && info.State.Msgs >= uint64(want) {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the audit stream did not get %d events: %v", want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, _ := stream.Info(ctx)
	var b strings.Builder
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		b.Write(m.Data)
		b.WriteByte('\n')
	}
	return b.String()
}
