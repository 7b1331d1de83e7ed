package control

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// permissions are the NATS permissions the cluster docs give: a replica
// serves and fans out, an operator acts, a viewer reads status only.
func permissions() []*server.User {
	inbox := &server.SubjectPermission{Allow: []string{"_INBOX.>"}}
	return []*server.User{
		{Username: "gateway", Password: "gateway-pass", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"manifold.control.prod.>", "$SRV.PING.manifold"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"manifold.control.prod.>", "$SRV.>", "_INBOX.>"}},
			Response:  &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
		}},
		{Username: "operator", Password: "operator-pass", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{
				"manifold.control.prod.>", "$SRV.PING.manifold", "$SRV.INFO.manifold", "$SRV.STATS.manifold",
			}},
			Subscribe: inbox,
		}},
		{Username: "viewer", Password: "viewer-pass", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"manifold.control.prod.status", "$SRV.PING.manifold", "$SRV.INFO.manifold"}},
			Subscribe: inbox,
		}},
	}
}

// TestDocumentedPermissions: with the documented permissions a replica
// serves its control plane, an operator purges, and a viewer reads the
// status but cannot purge, and is told why.
func TestDocumentedPermissions(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, Users: permissions()})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	as := func(user string) *nats.Conn {
		quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}) // the violation is asserted below
		nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo(user, user+"-pass"), quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	local := &fakeLocal{}
	svc, err := Start(as("gateway"), Config{Cluster: "prod", Replica: "r1", Local: local, RefreshEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })

	operator := newClient(t, as("operator"), "prod", ClientOptions{Timeout: time.Second})
	if res, err := operator.Purge(t.Context(), PurgeScope{All: true}); err != nil || len(res.Acted) != 1 {
		t.Fatalf("operator purge: %+v, %v", res, err)
	}
	viewer := newClient(t, as("viewer"), "prod", ClientOptions{Timeout: time.Second})
	if res, err := viewer.Status(t.Context()); err != nil || len(res.Acted) != 1 {
		t.Fatalf("viewer status: %+v, %v", res, err)
	}
	_, err = viewer.Purge(t.Context(), PurgeScope{All: true})
	if err == nil || !strings.Contains(err.Error(), "NATS does not let this user ask the cluster") {
		t.Errorf("viewer purge: %v, want a permissions error", err)
	}
	if calls := local.called(); len(calls) != 1 {
		t.Errorf("the replica acted %d times, want once (the operator's purge): %q", len(calls), calls)
	}
	// The replica's own fan-out (discovery) works under its permissions.
	if got, err := svc.Client().Discover(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("the replica's discovery: %v %v", got, err)
	}
	if err := svc.Client().nc.LastError(); err != nil {
		t.Errorf("the replica hit a NATS error: %v", err)
	}
}
