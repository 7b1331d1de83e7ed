package server

// PlanInfo says which plan this gateway serves, for /readyz: in a cluster
// every replica shows it, so that drift between replicas is visible.
type PlanInfo struct {
	// Revision is the cluster config bundle's revision served (0: the plan
	// comes from a directory); Hash identifies the plan's files whatever
	// their source (internal/bundle.PlanHash).
	Revision uint64 `json:"revision"`
	Hash     string `json:"hash"`
	Replica  string `json:"replica,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	// Latest is the newest revision pushed to the cluster, when known
	// (cluster mode with a bundle).
	Latest uint64 `json:"latest_revision,omitempty"`
}
