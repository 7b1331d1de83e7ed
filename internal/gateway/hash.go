package gateway

import (
	"crypto/sha256"
	"encoding/hex"
)

// SourceSHA256 is the hex SHA-256 of gateway.yaml as written (before
// ${ENV} is resolved), so that replicas with different environments but
// the same file agree on it.
func (c *Config) SourceSHA256() string {
	if c == nil || c.doc == nil {
		return ""
	}
	sum := sha256.Sum256(c.doc.Source)
	return hex.EncodeToString(sum[:])
}
