package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/server"
)

// cert is a test certificate, signed by ca (self-signed when ca is nil).
type cert struct {
	tmpl    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

func newCert(t *testing.T, cn string, ca *cert, isCA bool) *cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        isCA, BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.tmpl, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return &cert{tmpl: tmpl, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func (c *cert) write(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLSReload serves TLS 1.2+ and picks up a renewed certificate when
// the files change, without a restart.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	first := newCert(t, "gw.test", nil, false)
	certFile, keyFile := first.write(t, dir, "gw")
	cfg, err := server.TLSConfig(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	serial := func(max uint16) (*big.Int, error) {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: max}) //nolint:gosec // the test reads the served certificate
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
	}
	if got, err := serial(0); err != nil || got.Cmp(first.tmpl.SerialNumber) != 0 {
		t.Fatalf("first certificate: %v, %v", got, err)
	}
	if _, err := serial(tls.VersionTLS11); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
	second := newCert(t, "gw.test", nil, false)
	second.write(t, dir, "gw")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := serial(0)
		if err == nil && got.Cmp(second.tmpl.SerialNumber) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %v after the files changed", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUpstreamMTLS: an upstream with a private CA that requires a client
// certificate is reached with tls {ca, cert, key, server_name}.
func TestUpstreamMTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCert(t, "Test CA", nil, true)
	srvCert := newCert(t, "backend.internal", ca, false)
	client := newCert(t, "manifold", ca, false)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
	pair, _ := tls.X509KeyPair(srvCert.certPEM, srvCert.keyPEM)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	backend.Config.ErrorLog = log.New(io.Discard, "", 0)
	backend.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	backend.StartTLS()
	defer backend.Close()
	caFile, _ := ca.write(t, dir, "ca")
	certFile, keyFile := client.write(t, dir, "client")

	cases := []struct {
		name string
		tls  *gateway.UpstreamTLS
		ok   bool
	}{
		{"private CA, client cert, server name", &gateway.UpstreamTLS{CA: caFile, Cert: certFile, Key: keyFile, ServerName: "backend.internal"}, true},
		{"no client cert", &gateway.UpstreamTLS{CA: caFile, ServerName: "backend.internal"}, false},
		{"wrong server name", &gateway.UpstreamTLS{CA: caFile, Cert: certFile, Key: keyFile, ServerName: "other"}, false},
		{"system roots only", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := server.UpstreamTLS(c.tls)
			if err != nil {
				t.Fatal(err)
			}
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			resp, err := hc.Get(backend.URL)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != c.ok {
				t.Errorf("error %v, want success %v", err, c.ok)
			}
		})
	}
}
