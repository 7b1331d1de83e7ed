// Package deploy_test checks the deployment files statically: no Docker
// engine or cluster runs here, so each file is parsed by the tool that owns
// its format (the NATS config parser, the gateway's own loader, a YAML
// parser for compose and Kubernetes) and checked for what would break a
// rollout.
package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

func TestNATSClusterConfig(t *testing.T) {
	t.Setenv("NATS_SERVER_NAME", "nats-1")
	opts, err := natsserver.ProcessConfigFile("nats/nats-cluster.conf")
	if err != nil {
		t.Fatalf("nats-server rejects the config: %v", err)
	}
	if !opts.JetStream || opts.StoreDir == "" {
		t.Errorf("JetStream off or without a store dir: %+v", opts.JetStream)
	}
	if opts.Cluster.Name != "manifold" || len(opts.Routes) != 3 {
		t.Errorf("cluster %q with %d routes, want manifold with 3", opts.Cluster.Name, len(opts.Routes))
	}
	if opts.ServerName != "nats-1" {
		t.Errorf("server_name = %q, want it from NATS_SERVER_NAME", opts.ServerName)
	}
}

// TestGatewayConfigLoads loads the image's pipeline directory (the demo
// pipelines with deploy/config/gateway.yaml) with the gateway's loader.
func TestGatewayConfigLoads(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob("../pipelines/*.yaml")
	files = append(files, "../pipelines/logo.png", "../pipelines/legal.md", "config/gateway.yaml") // as the Dockerfile copies them
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"MANIFOLD_PUBLIC_URL": "https://deals.example.com", "MANIFOLD_ADMIN_KEY": "deploy-test-admin-key-0123456789",
		"NATS_URL": "nats://nats-0.nats:4222,nats://nats-1.nats:4222"}
	for _, v := range []string{"PRODUCTS", "MARKETS", "DEALS", "TRANSLATION"} {
		env["MANIFOLD_DEMO_"+v+"_URL"] = "http://" + strings.ToLower(v) + ".internal:7100"
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("deploy/config/gateway.yaml with the pipelines does not load:\n%v", err)
	}
	if plan.Gateway.Admin.Listen != "127.0.0.1:9180" {
		t.Errorf("admin listens on %q, want loopback", plan.Gateway.Admin.Listen)
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"USER nonroot", "CGO_ENABLED=0", `ENTRYPOINT ["/usr/local/bin/manifold"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// Every COPY source outside the build stage exists in the repository.
	copyLine := regexp.MustCompile(`(?m)^COPY (?:--from=\S+ )?(\S+) `)
	for _, m := range copyLine.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[0], "--from=") || m[1] == "." {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join("..", m[1]))
		if len(matches) == 0 {
			t.Errorf("COPY %s: nothing in the repository matches", m[1])
		}
	}
}

func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if len(c.Services) != 8 {
		t.Errorf("%d services, want 3 gateways, 3 NATS nodes, config-push and ctl", len(c.Services))
	}
	for name, s := range c.Services {
		if s.Build == nil && s.Image == "" {
			t.Errorf("service %s has neither build nor image", name)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("service %s: %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name  string `yaml:"name"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					ReadinessProbe *struct {
						HTTPGet struct {
							Path string `yaml:"path"`
							Port any    `yaml:"port"`
						} `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestKubernetesManifests(t *testing.T) {
	files, _ := filepath.Glob("k8s/*.yaml")
	kinds := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, part := range bytes.Split(data, []byte("\n---\n")) {
			var o k8sObject
			if err := yaml.Unmarshal(part, &o); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s document %d lacks apiVersion, kind or metadata.name", f, i)
			}
			kinds[o.Kind+"/"+o.Metadata.Name] = true
			for _, c := range o.Spec.Template.Spec.Containers {
				if o.Kind == "Job" {
					continue // runs to completion: nothing to route to
				}
				if c.ReadinessProbe == nil {
					t.Errorf("%s: container %s has no readiness probe", f, c.Name)
					continue
				}
				ports := map[string]bool{}
				for _, p := range c.Ports {
					ports[p.Name] = true
				}
				if name, ok := c.ReadinessProbe.HTTPGet.Port.(string); ok && !ports[name] {
					t.Errorf("%s: container %s probes port %q it does not declare", f, c.Name, name)
				}
			}
		}
	}
	for _, want := range []string{"Deployment/manifold", "Service/manifold", "PodDisruptionBudget/manifold", "StatefulSet/nats", "Service/nats", "Job/manifold-push"} {
		if !kinds[want] {
			t.Errorf("manifests lack %s", want)
		}
	}
}
