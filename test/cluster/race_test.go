//go:build race

package cluster

// raceBuild: the test binary runs with the race detector, so the replicas
// are built with it too (and reuse its compiled packages).
const raceBuild = true
