package launch

import (
	"reflect"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// live reports whether a reload applies key of a section read at start
// all the same: the request and answer caps, the concurrency and stream
// bounds and the global rate are read from the plan being served;
// trusted_proxies is a staged surface (server.Proxies); the log level
// follows reloads (setLevel).
func live(key string) bool {
	switch key {
	case "server.public_url", "server.max_body", "server.max_response",
		"server.max_concurrent", "server.max_streams", "server.max_streams_per_client",
		"server.rate", "server.trusted_proxies", "telemetry.log_level":
		return true
	}
	return false
}

// restartNeeded names, key by key (server.listen, audit.nats…), what
// changed in the gateway.yaml sections read once at start: the listener
// (address, TLS files, timeouts, header cap, CORS), the admin listener,
// audit, telemetry and mcp.session_timeout. Everything else (upstreams, callers' auth and
// consumers, the live keys) is applied by the reload itself.
func restartNeeded(a, b *gateway.Config) []string {
	var out []string
	for _, s := range []struct {
		name string
		a, b any
	}{
		{"server", a.Server, b.Server}, {"admin", a.Admin, b.Admin},
		{"audit", a.Audit, b.Audit}, {"telemetry", a.Telemetry, b.Telemetry}, {"nats", a.NATS, b.NATS},
	} {
		out = append(out, changedKeys(s.name, s.a, s.b)...)
	}
	if (a.Cluster == nil) != (b.Cluster == nil) || (a.Cluster != nil && a.Cluster.Name != b.Cluster.Name) {
		out = append(out, "cluster")
	}
	// The MCP SDK's handler lives across reloads (internal/mcp).
	if a.MCP.SessionTimeout != b.MCP.SessionTimeout {
		out = append(out, "mcp.session_timeout")
	}
	return out
}

// changedKeys lists the yaml keys of the structs a and b (of one type)
// whose values differ and are not live, each prefixed with section.
func changedKeys(section string, a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue // not a gateway.yaml key (DataDir set by the demo is)
		}
		key := section + "." + tag
		if !live(key) && !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, key)
		}
	}
	return out
}
