// Package cluster tests cluster mode end to end: real nats-servers routed
// into one JetStream cluster (in the test process) and gateway replicas run
// as processes of the manifold binary, as an operator runs them. The
// harness (harness_test.go) is meant to be reused by every cluster test.
package cluster
