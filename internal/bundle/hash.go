package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// PlanHash identifies a plan by its files as written: gateway.yaml and
// every pipeline file, before ${ENV} is resolved. A plan loaded from a
// directory and the same files pushed as a bundle have the same hash, so
// replicas fed differently still show whether they serve the same thing.
// It is "sha256:" and 16 hex digits.
func PlanHash(plan *pipeline.Plan) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", "gateway.yaml", plan.Gateway.SourceSHA256())
	for _, p := range plan.Pipelines { // sorted by name
		fmt.Fprintf(h, "%s %s\n", filepath.Base(p.File), p.SHA256)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}
