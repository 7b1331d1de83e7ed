package audit

// PlanStamp says which plan a replica serves: the revision of the
// cluster's config bundle (0 when the plan comes from a directory) and
// the plan's hash (internal/bundle.PlanHash).
type PlanStamp struct {
	Revision uint64
	Hash     string
}

// stamp adds the replica and plan extension attributes to ev: CloudEvents
// extensions are additive, so consumers that do not know them ignore
// them.
func (c *Config) stamp(ev *Event) {
	ev.Replica = c.Replica
	if c.Plan == nil {
		return
	}
	st := c.Plan()
	ev.PlanRevision, ev.PlanHash = st.Revision, st.Hash
}
