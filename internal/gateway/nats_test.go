package gateway

import (
	"strings"
	"testing"
)

// TestNATSSection: `nats:` configures the connection (mirrored into the
// audit keys that code read before it existed), `cluster:` turns cluster
// mode on with its defaults, and without either nothing changes.
func TestNATSSection(t *testing.T) {
	gw, errs := load(t, "nats:\n  url: ${NATS}\n  token: ${TOKEN}\ncluster:\n", map[string]string{"NATS": "nats://a:4222,nats://b:4222", "TOKEN": "t0k"})
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	if gw.NATS.URL != "nats://a:4222,nats://b:4222" || gw.NATS.Token != "t0k" || gw.Audit.NATS != gw.NATS.URL {
		t.Errorf("nats = %+v, audit.nats = %q", gw.NATS, gw.Audit.NATS)
	}
	if gw.Cluster == nil || gw.Cluster.Name != DefaultClusterName || gw.Cluster.Stale() != DefaultStaleAfter {
		t.Errorf("cluster = %+v, want the defaults", gw.Cluster)
	}
	gw, errs = load(t, "server: {listen: ':9080'}\n", nil)
	if len(errs) > 0 || gw.Cluster != nil || gw.NATS.URL != "embedded" || gw.Audit.NATS != "embedded" {
		t.Errorf("no nats/cluster: cluster %+v, nats %+v, errors %v", gw.Cluster, gw.NATS, errs)
	}
}

// TestNATSAlias: the audit keys that configured the connection before
// still work alone; beside `nats:` they are an error at the old key.
func TestNATSAlias(t *testing.T) {
	gw, errs := load(t, "audit:\n  nats: nats://x:4222\n  credentials: /run/nats.creds\n", nil)
	if len(errs) > 0 || gw.NATS.URL != "nats://x:4222" || gw.NATS.Credentials != "/run/nats.creds" {
		t.Fatalf("alias: nats %+v, errors %v", gw.NATS, errs)
	}
	_, errs = load(t, "nats: {url: nats://y:4222}\naudit:\n  nats: nats://x:4222\ncluster: {name: 'prod.eu'}\n", nil)
	want := []string{
		"dir/gateway.yaml:3:3: audit.nats: moved to nats.url, which this file sets: keep only nats.url",
		`dir/gateway.yaml:4:17: cluster.name: "prod.eu": want 1 to 64 letters, digits, _ and - (it names JetStream buckets)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%v\nwant:\n%s", errs, strings.Join(want, "\n"))
	}
	for i, w := range want {
		if errs[i].Error() != w {
			t.Errorf("error %d = %q, want %q", i, errs[i].Error(), w)
		}
	}
}

// TestAuditOffBesideNATS: `audit: {nats: off}` beside `nats:` turns audit
// off and keeps the connection for cluster mode.
func TestAuditOffBesideNATS(t *testing.T) {
	gw, errs := load(t, "nats: {url: nats://y:4222}\naudit: {nats: \"off\"}\ncluster: {name: prod}\n", nil)
	if len(errs) > 0 || gw.Audit.NATS != "off" || gw.NATS.URL != "nats://y:4222" || gw.Cluster == nil {
		t.Fatalf("audit %q, nats %q, cluster %+v, errors %v; want audit off on the cluster's NATS", gw.Audit.NATS, gw.NATS.URL, gw.Cluster, errs)
	}
	gw, errs = load(t, "nats: {url: nats://y:4222}\n", nil)
	if len(errs) > 0 || gw.Audit.NATS != "nats://y:4222" {
		t.Fatalf("audit follows nats: %q, errors %v", gw.Audit.NATS, errs)
	}
}
