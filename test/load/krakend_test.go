package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/test/bench"
)

// TestKrakendConfig checks the generated KrakenD configuration: version 3
// on loopback, quiet logs, the fan-out merging the four backends each
// under its name (the shape of Manifold's answer) with the request id
// passed on, and the proxy passing b1 through undecoded.
func TestKrakendConfig(t *testing.T) {
	urls := map[string]string{}
	for _, b := range bench.Backends() {
		urls[b] = "http://127.0.0.1:1" + b[1:]
	}
	data, err := krakendConfig(8081, urls)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version     int    `json:"version"`
		Port        int    `json:"port"`
		ListenIP    string `json:"listen_ip"`
		ExtraConfig struct {
			Router struct {
				DisableAccessLog bool `json:"disable_access_log"`
			} `json:"router"`
			Logging struct {
				Level string `json:"level"`
			} `json:"telemetry/logging"`
		} `json:"extra_config"`
		Endpoints []struct {
			Endpoint       string   `json:"endpoint"`
			OutputEncoding string   `json:"output_encoding"`
			QueryStrings   []string `json:"input_query_strings"`
			Backend        []struct {
				Host       []string `json:"host"`
				URLPattern string   `json:"url_pattern"`
				Encoding   string   `json:"encoding"`
				Group      string   `json:"group"`
			} `json:"backend"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("config is not JSON: %v\n%s", err, data)
	}
	if cfg.Version != 3 || cfg.Port != 8081 || cfg.ListenIP != "127.0.0.1" {
		t.Errorf("version %d, port %d, listen_ip %q; want 3, 8081, 127.0.0.1", cfg.Version, cfg.Port, cfg.ListenIP)
	}
	if !cfg.ExtraConfig.Router.DisableAccessLog || cfg.ExtraConfig.Logging.Level != krakendLogLevel {
		t.Errorf("extra_config %+v; want the access log off and level %s", cfg.ExtraConfig, krakendLogLevel)
	}
	if len(cfg.Endpoints) != 2 {
		t.Fatalf("%d endpoints; want the fan-out and the proxy", len(cfg.Endpoints))
	}
	fan, proxy := cfg.Endpoints[0], cfg.Endpoints[1]
	if fan.Endpoint != bench.Path || fan.OutputEncoding != "json" || len(fan.Backend) != 4 || strings.Join(fan.QueryStrings, ",") != "id" {
		t.Errorf("fan-out endpoint %+v; want %s, json, 4 backends, query id", fan, bench.Path)
	}
	for i, b := range fan.Backend {
		name := bench.Backends()[i]
		if b.Group != name || b.Encoding != "json" || b.URLPattern != bench.BackendPath || len(b.Host) != 1 || b.Host[0] != urls[name] {
			t.Errorf("fan-out backend %d = %+v; want %s at %s%s, json, grouped under its name", i, b, name, urls[name], bench.BackendPath)
		}
	}
	if proxy.Endpoint != "/v1/proxy" || proxy.OutputEncoding != "no-op" || len(proxy.Backend) != 1 ||
		proxy.Backend[0].Encoding != "no-op" || proxy.Backend[0].Host[0] != urls["b1"] || strings.Join(proxy.QueryStrings, ",") != "id" {
		t.Errorf("proxy endpoint %+v; want /v1/proxy, no-op to b1, query id", proxy)
	}
	delete(urls, "b3")
	if _, err := krakendConfig(8081, urls); err == nil || !strings.Contains(err.Error(), `"b3"`) {
		t.Errorf("config without b3's URL: err = %v; want it named", err)
	}
}

// TestKrakendNeedsLean checks that -krakend alone is refused: only -lean
// runs gateway processes.
func TestKrakendNeedsLean(t *testing.T) {
	cfg := config{krakend: "/usr/local/bin/krakend", duration: 1, workers: 1, maxWorkers: 1, timeout: 1}
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "-krakend needs -lean") {
		t.Errorf("check = %v; want -krakend needs -lean", err)
	}
}
