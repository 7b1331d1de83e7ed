package main

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestKeysNew: the printed key is fresh, its hash is in the printed line,
// and that line loads as a consumer of gateway.yaml.
func TestKeysNew(t *testing.T) {
	keyRE := regexp.MustCompile(`(?m)^  (mfk_[A-Za-z0-9_-]{43})$`)
	lineRE := regexp.MustCompile(`(?m)^  (chatgpt: \{key_sha256: ([0-9a-f]{64}), roles: \[reader, buyer\]\})$`)
	var keys []string
	for range 2 {
		out, _, err := execute(t, "keys", "new", "chatgpt", "--roles", "reader,buyer")
		if err != nil {
			t.Fatal(err)
		}
		k, line := keyRE.FindStringSubmatch(out), lineRE.FindStringSubmatch(out)
		if k == nil || line == nil {
			t.Fatalf("output lacks the key or the consumer line:\n%s", out)
		}
		sum := sha256.Sum256([]byte(k[1]))
		if line[2] != hex.EncodeToString(sum[:]) {
			t.Errorf("key_sha256 %s is not the SHA-256 of the printed key", line[2])
		}
		if strings.Count(out, k[1]) != 1 {
			t.Errorf("the key is printed %d times, want once", strings.Count(out, k[1]))
		}
		dir := writeDir(t, map[string]string{
			"gateway.yaml": "upstreams:\n  u: {url: http://u.test}\nconsumers:\n  " + line[1] + "\n",
			"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: u, path: /}\n",
		})
		plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
		if err != nil {
			t.Fatalf("the printed line does not load: %v", err)
		}
		if c := plan.Gateway.Consumers["chatgpt"]; c == nil || len(c.Roles) != 2 {
			t.Errorf("consumer = %+v", c)
		}
		keys = append(keys, k[1])
	}
	if keys[0] == keys[1] {
		t.Error("two runs printed the same key")
	}
	if _, _, err := execute(t, "keys", "new", "bad name"); err == nil {
		t.Error("a consumer name with a space was accepted")
	}
}

func TestKeysHash(t *testing.T) {
	cmd := rootCmd()
	var out strings.Builder
	cmd.SetArgs([]string{"keys", "hash"})
	cmd.SetIn(strings.NewReader("demo-buyer-key\n"))
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), "c63eb4f4b0e21ee84f5d53045b34be45d93c0a639994d3aaa1babb2473618e6f"; got != want {
		t.Errorf("hash %s, want %s (the demo buyer's key_sha256)", got, want)
	}
}
