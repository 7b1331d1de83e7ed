// Package natstest starts real nats-servers with JetStream for tests: one,
// or a cluster of several routed together, all in-process on 127.0.0.1
// with their stores in the test's temporary directory. A node can be
// stopped and started again on the same ports and store, as an operator
// restarting it would.
package natstest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// readyTimeout bounds how long a node may take to accept connections and,
// for a cluster, how long JetStream may take to elect its meta leader.
const readyTimeout = 20 * time.Second

// Node is one nats-server of a test.
type Node struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port) }

// Server is the running server (nil while stopped).
func (n *Node) Server() *server.Server { return n.srv }

// Stop shuts the node down, as a killed process would leave it.
func (n *Node) Stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// Start starts a stopped node again on the same ports and store.
func (n *Node) Start() {
	n.t.Helper()
	o := n.opts
	srv, err := server.NewServer(&o)
	if err != nil {
		n.t.Fatalf("natstest: %s: %v", o.ServerName, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		n.t.Fatalf("natstest: %s not ready after %s", o.ServerName, readyTimeout)
	}
	n.srv = srv
}

// Server starts one nats-server with JetStream, stopped at the end of the
// test.
func Server(t testing.TB) *Node {
	t.Helper()
	n := &Node{t: t, opts: server.Options{
		ServerName: "n1", Host: "127.0.0.1", Port: freePort(t),
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	}}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Cluster is nats-servers routed into one JetStream cluster.
type Cluster struct {
	Nodes []*Node
}

// URLs is every node's client URL, comma-separated, as nats.Connect and
// gateway.yaml take them.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// StartCluster starts size nodes routed together with JetStream and waits
// until JetStream answers through every node. The nodes stop at the end of
// the test.
func StartCluster(t testing.TB, size int) *Cluster {
	t.Helper()
	c := &Cluster{}
	routes := make([]int, size)
	for i := range routes {
		routes[i] = freePort(t)
	}
	for i := range size {
		o := server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: freePort(t),
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "natstest", Host: "127.0.0.1", Port: routes[i]},
		}
		for j, p := range routes {
			if j != i {
				o.Routes = append(o.Routes, server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d", p))...)
			}
		}
		c.Nodes = append(c.Nodes, &Node{t: t, opts: o})
	}
	for _, n := range c.Nodes {
		n.Start()
		t.Cleanup(n.Stop)
	}
	c.WaitJetStream(t)
	return c
}

// WaitJetStream waits until every running node answers a JetStream
// account request, that is until the cluster has a meta leader.
func (c *Cluster) WaitJetStream(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for _, n := range c.Nodes {
		if n.srv == nil {
			continue
		}
		for {
			err := jetStreamReady(n.URL())
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("natstest: JetStream not ready on %s after %s: %v", n.opts.ServerName, readyTimeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func jetStreamReady(url string) error {
	nc, err := nats.Connect(url, nats.Timeout(time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	_, err = js.AccountInfo(nats.MaxWait(time.Second))
	return err
}

// freePort is a TCP port on 127.0.0.1 that was free a moment ago. A node
// keeps its ports across a restart, so they are chosen up front.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
