package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StatusTTL is how long a replica's status entry lives unless it is
// written again: a replica rewrites it every StatusTTL/3, so a killed
// replica drops out of the list within StatusTTL.
const StatusTTL = 30 * time.Second

// ReplicaStatus is what one replica reports to its cluster.
type ReplicaStatus struct {
	Replica  string    `json:"replica"`
	Address  string    `json:"address,omitempty"` // the listener's address
	Revision uint64    `json:"revision"`          // served (0: from a directory)
	Hash     string    `json:"hash"`
	Started  time.Time `json:"started"`
	At       time.Time `json:"at"`
	// Failed is the newest revision this replica could not build, and
	// Errors why (each file:line:column: message); both empty when the
	// newest revision it saw is the one it serves.
	Failed uint64   `json:"failed_revision,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// Statuses is a cluster's status bucket.
type Statuses struct {
	kv jetstream.KeyValue
}

// OpenStatuses opens (creating it if needed) the cluster's status bucket.
func OpenStatuses(ctx context.Context, js jetstream.JetStream, cluster string) (*Statuses, error) {
	kv, err := createKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: StatusBucket(cluster), History: 1, TTL: StatusTTL,
		Description: "Manifold replicas of cluster " + cluster + ": the plan each serves",
	})
	if err != nil {
		return nil, err
	}
	return &Statuses{kv: kv}, nil
}

// Put writes st under its replica id.
func (s *Statuses) Put(ctx context.Context, st ReplicaStatus) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, st.Replica, data); err != nil {
		return fmt.Errorf("replica status: %w", err)
	}
	return nil
}

// List returns every live replica's status, by replica id.
func (s *Statuses) List(ctx context.Context) ([]ReplicaStatus, error) {
	keys, err := s.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]ReplicaStatus, 0, len(keys))
	for _, k := range keys {
		e, err := s.kv.Get(ctx, k)
		if err != nil {
			continue // expired meanwhile
		}
		var st ReplicaStatus
		if json.Unmarshal(e.Value(), &st) == nil {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Replica < out[j].Replica })
	return out, nil
}
