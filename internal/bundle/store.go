package bundle

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Key is the bundle's key in the config bucket; the bucket keeps its
// last History revisions, the ones `manifold rollback` can bring back.
const (
	Key     = "bundle"
	History = 64
)

// ConfigBucket and StatusBucket name a cluster's buckets.
func ConfigBucket(cluster string) string { return "manifold-config-" + cluster }

// StatusBucket holds one entry per replica: what it serves.
func StatusBucket(cluster string) string { return "manifold-replicas-" + cluster }

// ErrNoBundle is returned when nothing was pushed to the cluster yet.
var ErrNoBundle = errors.New("nothing pushed to this cluster yet (manifold push)")

// Store is a cluster's config bucket.
type Store struct {
	Cluster string
	kv      jetstream.KeyValue
}

// Revision is one stored revision of the bundle.
type Revision struct {
	Revision uint64
	Bundle   *Bundle
	Size     int
}

// Create opens the cluster's config bucket, creating it (replicated on up
// to three servers) if needed: what `manifold push` does.
func Create(ctx context.Context, js jetstream.JetStream, cluster string) (*Store, error) {
	kv, err := createKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: ConfigBucket(cluster), History: History,
		Description: "Manifold config bundles of cluster " + cluster + " (manifold push)",
	})
	if err != nil {
		return nil, err
	}
	return &Store{Cluster: cluster, kv: kv}, nil
}

// Open opens the cluster's config bucket; ErrNoBundle when it does not
// exist yet.
func Open(ctx context.Context, js jetstream.JetStream, cluster string) (*Store, error) {
	kv, err := js.KeyValue(ctx, ConfigBucket(cluster))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, ErrNoBundle
	}
	if err != nil {
		return nil, fmt.Errorf("config bucket %s: %w", ConfigBucket(cluster), err)
	}
	return &Store{Cluster: cluster, kv: kv}, nil
}

// createKV creates or updates a bucket with three replicas, or one when
// the NATS is a single server.
func createKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	cfg.Replicas = 3
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err == nil {
		return kv, nil
	}
	cfg.Replicas = 1
	if kv, err1 := js.CreateOrUpdateKeyValue(ctx, cfg); err1 == nil {
		return kv, nil
	}
	return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
}

// Push stores b as the newest revision and returns it. An encoded bundle
// larger than the server's max_payload is refused with the sizes.
func (s *Store) Push(ctx context.Context, nc *nats.Conn, b *Bundle) (uint64, error) {
	data, err := b.Encode()
	if err != nil {
		return 0, err
	}
	if max := nc.MaxPayload(); int64(len(data)) > max {
		return 0, fmt.Errorf("the bundle is %d bytes compressed, more than the NATS server's max_payload (%d)", len(data), max)
	}
	rev, err := s.kv.Put(ctx, Key, data)
	if err != nil {
		return 0, fmt.Errorf("storing the bundle in %s: %w", ConfigBucket(s.Cluster), err)
	}
	return rev, nil
}

// Get returns revision rev (0: the newest).
func (s *Store) Get(ctx context.Context, rev uint64) (*Revision, error) {
	var e jetstream.KeyValueEntry
	var err error
	if rev == 0 {
		e, err = s.kv.Get(ctx, Key)
	} else {
		e, err = s.kv.GetRevision(ctx, Key, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) && rev == 0:
		return nil, ErrNoBundle
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, fmt.Errorf("revision %d is not in %s (it keeps the last %d pushes)", rev, ConfigBucket(s.Cluster), History)
	case err != nil:
		return nil, err
	}
	return decodeEntry(e)
}

func decodeEntry(e jetstream.KeyValueEntry) (*Revision, error) {
	if e.Operation() != jetstream.KeyValuePut {
		return nil, fmt.Errorf("revision %d: %w", e.Revision(), ErrNoBundle)
	}
	b, err := Decode(e.Value())
	if err != nil {
		return nil, fmt.Errorf("revision %d: %w", e.Revision(), err)
	}
	return &Revision{Revision: e.Revision(), Bundle: b, Size: len(e.Value())}, nil
}

// History lists the revisions kept, oldest first.
func (s *Store) History(ctx context.Context) ([]*Revision, error) {
	es, err := s.kv.History(ctx, Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoBundle
	}
	if err != nil {
		return nil, err
	}
	out := make([]*Revision, 0, len(es))
	for _, e := range es {
		if r, err := decodeEntry(e); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Rollback pushes revision rev again as the newest revision: replicas
// move to it as to any push, and the history keeps what happened.
func (s *Store) Rollback(ctx context.Context, nc *nats.Conn, rev uint64, meta Meta) (uint64, error) {
	r, err := s.Get(ctx, rev)
	if err != nil {
		return 0, err
	}
	meta.RollbackFrom, meta.Source = rev, r.Bundle.Meta.Source
	r.Bundle.Meta = meta
	return s.Push(ctx, nc, r.Bundle)
}

// Watch sends each new revision, the newest one first, until ctx ends.
// The channel is closed when the watch ends.
func (s *Store) Watch(ctx context.Context) (<-chan *Revision, error) {
	w, err := s.kv.Watch(ctx, Key, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	out := make(chan *Revision, 1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // the initial values have been delivered
				}
				r, err := decodeEntry(e)
				if err != nil {
					continue
				}
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
