// Package natstest starts real nats-servers with JetStream for tests: one,
// or a cluster of several routed together, all in-process on 127.0.0.1
// with their stores in the test's temporary directory. A node can be
// stopped and started again on the same ports and store, as an operator
// restarting it would.
package natstest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
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
	if err := n.start(); err != nil {
		n.t.Fatalf("natstest: %v", err)
	}
}

// start starts the node and waits until it listens. A port taken since it
// was chosen fails at once, with the server's own message, rather than
// after the whole readyTimeout.
func (n *Node) start() error {
	o := n.opts
	srv, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("%s: %w", o.ServerName, err)
	}
	fatal := make(chan string, 4)
	srv.SetLogger(fatalLogger(fatal), false, false)
	go srv.Start()
	deadline := time.Now().Add(readyTimeout)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		var why string
		select {
		case why = <-fatal:
		default:
			if time.Now().After(deadline) {
				why = fmt.Sprintf("not ready after %s", readyTimeout)
			}
		}
		if why != "" {
			srv.Shutdown()
			srv.WaitForShutdown()
			return fmt.Errorf("%s: %s", o.ServerName, why)
		}
	}
	n.srv = srv
	return nil
}

// fatalLogger passes on what the server reports as fatal (a port it could
// not listen on) and drops the rest, as NoLog would.
type fatalLogger chan string

func (l fatalLogger) Fatalf(format string, v ...any) {
	select {
	case l <- fmt.Sprintf(format, v...):
	default:
	}
}
func (fatalLogger) Noticef(string, ...any) {}
func (fatalLogger) Warnf(string, ...any)   {}
func (fatalLogger) Errorf(string, ...any)  {}
func (fatalLogger) Debugf(string, ...any)  {}
func (fatalLogger) Tracef(string, ...any)  {}

// attempts is how many times a node or cluster is set up on fresh ports
// when one of its ports was taken before it could listen.
const attempts = 3

// Server starts one nats-server with JetStream, stopped at the end of the
// test.
func Server(t testing.TB) *Node {
	t.Helper()
	store := t.TempDir()
	var err error
	for range attempts {
		n := &Node{t: t, opts: server.Options{
			ServerName: "n1", Host: "127.0.0.1", Port: freePort(t),
			JetStream: true, StoreDir: store, NoLog: true, NoSigs: true,
		}}
		if err = n.start(); err == nil {
			t.Cleanup(n.Stop)
			return n
		}
	}
	t.Fatalf("natstest: %v", err)
	return nil
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
	var err error
	for range attempts {
		var c *Cluster
		if c, err = startCluster(t, size); err == nil {
			c.WaitJetStream(t)
			return c
		}
	}
	t.Fatalf("natstest: %v", err)
	return nil
}

// startCluster starts the nodes on fresh ports and stores; if one fails,
// those already started are stopped.
func startCluster(t testing.TB, size int) (*Cluster, error) {
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
		if err := n.start(); err != nil {
			for _, started := range c.Nodes {
				started.Stop()
			}
			return nil, err
		}
		t.Cleanup(n.Stop)
	}
	return c, nil
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
// keeps its ports across a restart, so they are chosen up front. They are
// chosen below the kernel's ephemeral range, which every other test's
// 127.0.0.1:0 listener and every outgoing connection draw from, so that
// none of those can take one between now and the server's listen.
func freePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	for range 100 {
		p := 10000 + rand.IntN(low-10000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatalf("natstest: no free port in 10000-%d", low-1)
	return 0
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if p, err := strconv.Atoi(f[0]); err == nil && p > 11000 {
				return p
			}
		}
	}
	return 32768
}
