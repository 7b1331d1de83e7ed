package deploy_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestAuditReplicasMatchNATS: wherever deploy/ runs a three-node NATS
// cluster (compose, Kubernetes), the gateway.yaml it serves keeps three
// copies of the audit stream and turns on cluster mode.
func TestAuditReplicasMatchNATS(t *testing.T) {
	var gw struct {
		NATS    struct{ URL string }   `yaml:"nats"`
		Cluster struct{ Name string }  `yaml:"cluster"`
		Audit   struct{ Replicas int } `yaml:"audit"`
	}
	data, err := os.ReadFile("config/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &gw); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]int{"compose": composeNATSNodes(t), "kubernetes": k8sNATSNodes(t)}
	for where, n := range nodes {
		if n != 3 {
			t.Errorf("%s runs %d NATS nodes, want 3", where, n)
		}
		if gw.Audit.Replicas != n {
			t.Errorf("%s runs %d NATS nodes but config/gateway.yaml keeps audit.replicas: %d", where, n, gw.Audit.Replicas)
		}
	}
	if gw.Cluster.Name == "" || !strings.Contains(gw.NATS.URL, "${") {
		t.Errorf("config/gateway.yaml: cluster %q, nats.url %q: want cluster mode on the NATS of the environment", gw.Cluster.Name, gw.NATS.URL)
	}
}

type composeFile struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func composeNATSNodes(t *testing.T) int {
	n := 0
	for _, s := range readCompose(t).Services {
		if strings.HasPrefix(s.Image, "nats:") {
			n++
		}
	}
	return n
}

// k8sObjects returns the documents of a manifest file as generic maps.
func k8sObjects(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, part := range bytes.Split(data, []byte("\n---\n")) {
		var o map[string]any
		if err := yaml.Unmarshal(part, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func k8sNATSNodes(t *testing.T) int {
	for _, o := range k8sObjects(t, "k8s/nats.yaml") {
		if o["kind"] == "StatefulSet" {
			spec, _ := o["spec"].(map[string]any)
			n, _ := spec["replicas"].(uint64)
			return int(n)
		}
	}
	return 0
}

// TestClusterDeployments: compose and Kubernetes run their gateway
// replicas in cluster mode (the plan from NATS: serve --nats, no --dir)
// and have a way to push the config (manifold push).
func TestClusterDeployments(t *testing.T) {
	gateways, pushes := 0, 0
	for name, s := range readCompose(t).Services {
		switch {
		case strings.HasPrefix(name, "gateway-"):
			gateways++
			if !clusterServe(s.Command) {
				t.Errorf("compose %s: %v is not cluster mode (serve --nats, no --dir)", name, s.Command)
			}
		case len(s.Command) > 0 && s.Command[0] == "push":
			pushes++
		}
	}
	if gateways != 3 || pushes != 1 {
		t.Errorf("compose: %d gateways in cluster mode and %d push services, want 3 and 1", gateways, pushes)
	}
	var k8sServe, k8sPush bool
	for _, o := range k8sObjects(t, "k8s/gateway.yaml") {
		for _, args := range containerArgs(o) {
			switch {
			case o["kind"] == "Deployment":
				k8sServe = clusterServe(args)
			case o["kind"] == "Job" && len(args) > 0 && args[0] == "push":
				k8sPush = true
			}
		}
	}
	if !k8sServe || !k8sPush {
		t.Errorf("kubernetes: cluster-mode Deployment %v, push Job %v; want both", k8sServe, k8sPush)
	}
}

func clusterServe(args []string) bool {
	return len(args) > 0 && args[0] == "serve" && slices.Contains(args, "--nats") && !slices.Contains(args, "--dir")
}

// containerArgs returns the args of each container of a workload.
func containerArgs(o map[string]any) [][]string {
	spec, _ := o["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pspec, _ := tmpl["spec"].(map[string]any)
	cs, _ := pspec["containers"].([]any)
	var out [][]string
	for _, c := range cs {
		cm, _ := c.(map[string]any)
		as, _ := cm["args"].([]any)
		var args []string
		for _, a := range as {
			s, _ := a.(string)
			args = append(args, s)
		}
		out = append(out, args)
	}
	return out
}
