package security

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestStreamsEndWithTheirToken: a subscription opened with a JWT ends
// when the token expires, over WebSocket and over SSE; it does not
// outlive the credential that opened it.
func TestStreamsEndWithTheirToken(t *testing.T) {
	l := startLab(t)
	expiring := func() string {
		return l.idp.token(t, tokenClaims{roles: []string{"reader"}, exp: time.Now().Add(2 * time.Second)})
	}
	t.Run("WebSocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(l.base, "http")+"/graphql", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Authorization": {"Bearer " + expiring()}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init"}); err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Write(ctx, c, map[string]any{"id": "1", "type": "subscribe",
			"payload": map[string]any{"query": "subscription { runs { pipeline } }"}}); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for {
			var m struct{ Type string }
			if err := wsjson.Read(ctx, c, &m); err != nil {
				break // the gateway closed the socket
			}
			seen = append(seen, m.Type)
		}
		if ctx.Err() != nil {
			t.Fatal("the WebSocket outlived its token by more than 15s")
		}
		if len(seen) == 0 || seen[0] != "connection_ack" || slices.Contains(seen, "error") {
			t.Fatalf("messages %v: want the connection acknowledged and the subscription running until the close", seen)
		}
	})
	t.Run("SSE", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/graphql",
			strings.NewReader(`{"query":"subscription { runs { pipeline } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+expiring())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe: %d", resp.StatusCode)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		if ctx.Err() != nil {
			t.Fatal("the event stream outlived its token by more than 15s")
		}
	})
}
