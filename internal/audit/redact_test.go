package audit

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/logtest"
)

// TestConnectLogsHideTokens: a NATS URL carrying a token in its user part
// (nats://TOKEN@host) is logged, and named in errors, without it; so is
// the event source taken from a public_url with a user part.
func TestConnectLogsHideTokens(t *testing.T) {
	const token = "s3cr3t-nats-token"
	var logs logtest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, done, err := open(Config{NATS: "nats://" + token + "@127.0.0.1:1,nats://user:" + token + "@127.0.0.1:2"}, log, func() {})
	if err == nil {
		done()
	}
	text := logs.String()
	if err != nil {
		text += err.Error()
	}
	if strings.Contains(text, token) || !strings.Contains(text, "nats://redacted@127.0.0.1:1,nats://redacted@127.0.0.1:2") {
		t.Errorf("connect logs and error:\n%s\nwant the servers named with their user part redacted", text)
	}
	gw := &gateway.Config{Server: gateway.Server{PublicURL: "https://" + token + "@gw.example"}}
	if src := From(gw.Audit, gw.Server.PublicURL, "").Source; src != "https://redacted@gw.example" {
		t.Errorf("event source %q, want the public URL without its user part", src)
	}
}
