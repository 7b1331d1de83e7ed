package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestReloadKeepsUpstreamWithTLS: an upstream with a private CA whose
// config did not change keeps its connector (and so its breaker) across
// a reload, although its *tls.Config is rebuilt from the file.
func TestReloadKeepsUpstreamWithTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("gateway.yaml", "upstreams:\n  up: {url: \"https://127.0.0.1:1\", tls: {ca: ca.pem}}\n  other: {url: \"http://127.0.0.1:2\"}\n")
	write("p.yaml", "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n")
	load := func() *pipeline.Plan {
		plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	old, err := Build(load(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	write("gateway.yaml", "upstreams:\n  up: {url: \"https://127.0.0.1:1\", tls: {ca: ca.pem}}\n  other: {url: \"http://127.0.0.1:3\"}\n")
	next, err := BuildWith(load(), BuildOptions{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	if next.Upstream("up") != old.Upstream("up") {
		t.Error("the unchanged TLS upstream was rebuilt: its breaker and pool were lost")
	}
	if next.Upstream("other") == old.Upstream("other") {
		t.Error("the changed upstream was reused")
	}
}
