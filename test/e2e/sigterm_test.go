package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildManifold builds the manifold binary into a temporary directory.
func buildManifold(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "manifold")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/manifoldgw/manifold/cmd/manifold")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe runs `manifold serve` on dir as a subprocess and returns the
// process, the gateway's base URL (read from its JSON log) and a channel
// that delivers the exit error.
func startServe(t *testing.T, bin, dir string) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--dir", dir, "--listen", "127.0.0.1:0", "--drain-timeout", "10s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "gateway listening" {
				addr <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case a := <-addr:
		return cmd, "http://" + a, exited
	case err := <-exited:
		t.Fatalf("manifold serve exited before listening: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("manifold serve did not listen within 20s")
	}
	return nil, "", nil
}

// TestSIGTERMLosesNoAcceptedRequest runs the real binary under steady load
// against a backend that takes 100ms, sends SIGTERM, and checks that every
// request that got a connection got its 200 and that the process exits 0.
func TestSIGTERMLosesNoAcceptedRequest(t *testing.T) {
	var working atomic.Int64 // backend calls in progress
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		working.Add(1)
		defer working.Add(-1)
		time.Sleep(100 * time.Millisecond) // the work a backend does
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	dir := t.TempDir()
	writeFile(t, dir, "gateway.yaml", fmt.Sprintf("audit: {nats: \"off\"}\nupstreams:\n  slow: {url: %q}\n", backend.URL))
	writeFile(t, dir, "slow.yaml", "name: slow\npath: /slow\nsteps:\n  s: {upstream: slow, path: /}\n")
	cmd, base, exited := startServe(t, buildManifold(t), dir)

	var ok, refused, lost atomic.Int64
	var mu sync.Mutex
	var lostErrs []string
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	started := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				// A connection still queued in the kernel when the listener
				// closes is reset without the gateway ever reading from it:
				// on a fresh connection, a reset or EOF means not accepted.
				var reused atomic.Bool
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused.Store(i.Reused) }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", base+"/slow", nil)
				resp, err := client.Do(req)
				switch {
				case errors.Is(err, syscall.ECONNREFUSED):
					refused.Add(1) // never accepted: the listener is closed
					return
				case err != nil && !reused.Load() && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)):
					refused.Add(1)
					return
				case err != nil:
					lost.Add(1)
					mu.Lock()
					lostErrs = append(lostErrs, err.Error())
					mu.Unlock()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					lost.Add(1)
					mu.Lock()
					lostErrs = append(lostErrs, resp.Status)
					mu.Unlock()
					continue
				}
				ok.Add(1)
				select {
				case started <- struct{}{}:
				default:
				}
			}
		})
	}
	for range 32 { // the load is flowing
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatalf("load did not flow: %d answered, %d lost: %v", ok.Load(), lost.Load(), lostErrs)
		}
	}
	// Requests are in flight: past the gateway, waiting for the backend
	// (identical calls share one backend call, so count calls, not requests).
	deadline := time.Now().Add(20 * time.Second)
	for working.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no backend call in progress within 20s")
		}
		time.Sleep(time.Millisecond)
	}
	answered := ok.Load()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("manifold serve exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("manifold serve did not exit within 20s of SIGTERM")
	}
	t.Logf("%d answered (%d after SIGTERM), %d refused after the listener closed, %d lost",
		ok.Load(), ok.Load()-answered, refused.Load(), lost.Load())
	if ok.Load() <= answered {
		t.Error("no request answered after SIGTERM: the requests in flight then must finish")
	}
	if lost.Load() > 0 {
		t.Errorf("%d accepted requests lost: %v", lost.Load(), lostErrs)
	}
}
