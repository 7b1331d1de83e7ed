package server

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// RequestIDHeader carries the gateway's id of a request in every answer;
// logs and audit events carry the same id.
const RequestIDHeader = "Manifold-Request-Id"

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID returns the id ServeHTTP gave the request.
func requestID(w http.ResponseWriter) string { return w.Header().Get(RequestIDHeader) }
