package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// pki is a test CA and the certificates it signs.
type pki struct {
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	dir  string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), pool: x509.NewCertPool()}
	p.ca, p.key = p.issue(t, "Test CA", nil, true)
	p.pool.AddCert(p.ca)
	p.write(t, "ca.pem", "CERTIFICATE", p.ca.Raw)
	return p
}

func (p *pki) issue(t *testing.T, cn string, parent *pki, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.ca
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// leaf issues a certificate for cn and writes cn.crt and cn.key.
func (p *pki) leaf(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	c, key := p.issue(t, cn, p, false)
	kder, _ := x509.MarshalECPrivateKey(key)
	p.write(t, cn+".crt", "CERTIFICATE", c.Raw)
	p.write(t, cn+".key", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(filepath.Join(p.dir, cn+".crt"), filepath.Join(p.dir, cn+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) {
	if err := os.WriteFile(filepath.Join(p.dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLS serves the gateway over TLS (server.tls, relative paths) and
// calls a backend that requires a client certificate from a private CA
// (upstream tls), all configured in gateway.yaml.
func TestTLS(t *testing.T) {
	p := newPKI(t)
	p.leaf(t, "gateway.test")
	p.leaf(t, "manifold-client")
	backendCert := p.leaf(t, "backend.internal")
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"client":%q}`, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	backend.Config.ErrorLog = log.New(io.Discard, "", 0)
	backend.TLS = &tls.Config{Certificates: []tls.Certificate{backendCert}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert}
	backend.StartTLS()
	defer backend.Close()

	files := map[string]string{
		"gateway.yaml": fmt.Sprintf(`
server: {tls: {cert: gateway.test.crt, key: gateway.test.key}}
audit: {nats: "off"}
upstreams:
  backend:
    url: %s
    tls: {ca: ca.pem, cert: manifold-client.crt, key: manifold-client.key, server_name: backend.internal}
`, backend.URL),
		"who.yaml": "name: who\npath: /who\nsteps:\n  b: {upstream: backend, path: /}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(p.dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := serve(t, plan, launch.Options{})
	addr := strings.TrimPrefix(base, "http://")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, ServerName: "gateway.test"}}}
	resp, err := client.Get("https://" + addr + "/who")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"b":{"client":"manifold-client"}}` {
		t.Errorf("got %d %s; want the backend to see the gateway's client certificate", resp.StatusCode, body)
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool, ServerName: "gateway.test", MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
	if resp, err := http.Get(base + "/who"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the TLS listener")
		}
	}
}
