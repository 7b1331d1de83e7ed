package auth

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// lockedLog is a log sink background refreshes may write to concurrently.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestJWKSLogsHideURLUserPart: a JWKS URL with credentials in its user
// part is logged (unreachable, refetched) without them.
func TestJWKSLogsHideURLUserPart(t *testing.T) {
	var logs lockedLog
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw := jwtGateway("http://jwks-user:jwks-pass@127.0.0.1:1/jwks")
	a := newAuth(t, gw, Options{Logger: log, JWKSWait: 50 * time.Millisecond, RefetchEvery: time.Millisecond})
	k, _ := rsaKey(t, "k1")
	_, _ = a.Authenticate(bearer(sign(t, claims{}, jwa.RS256(), k))) // an unknown kid: a refetch
	text := logs.String()
	if strings.Contains(text, "jwks-user") || strings.Contains(text, "jwks-pass") || !strings.Contains(text, "redacted@127.0.0.1:1") {
		t.Errorf("logs:\n%s\nwant the JWKS URL without its user part", text)
	}
}
