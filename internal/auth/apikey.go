package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// consumer is one configured API key: its hash and the identity it
// stands for.
type consumer struct {
	hash [sha256.Size]byte
	id   *pipeline.Identity
	rate *yamlconf.Rate
}

// apiKeys are the consumers of gateway.yaml. Only hashes are kept.
type apiKeys struct {
	consumers []consumer // sorted by name
}

// newAPIKeys builds the consumers of cs. A consumer whose key and roles
// are those it had in prev keeps its identity (the same pointer), so that
// StillValid can tell an unchanged consumer from a changed or removed one.
func newAPIKeys(cs map[string]*gateway.Consumer, prev *apiKeys) (*apiKeys, error) {
	names := make([]string, 0, len(cs))
	for name := range cs {
		names = append(names, name)
	}
	sort.Strings(names)
	k := &apiKeys{}
	for _, name := range names {
		c := cs[name]
		raw, err := hex.DecodeString(strings.ToLower(c.KeySHA256))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("consumer %s: key_sha256 is not 64 hex digits", name)
		}
		claims, err := jsonClaims(c.Claims)
		if err != nil {
			return nil, fmt.Errorf("consumer %s: claims: %w", name, err)
		}
		e := consumer{rate: c.Rate}
		copy(e.hash[:], raw)
		e.id = prev.identity(name, e.hash, c.Roles, claims)
		k.consumers = append(k.consumers, e)
	}
	return k, nil
}

// identity returns the identity of consumer name with key hash, roles and
// claims: k's own when k has that very consumer, else a new one.
func (k *apiKeys) identity(name string, hash [sha256.Size]byte, roles []string, claims map[string]any) *pipeline.Identity {
	if old := k.byName(name); old != nil && old.hash == hash && slices.Equal(old.id.Roles, roles) && reflect.DeepEqual(old.id.Claims, claims) {
		return old.id
	}
	return &pipeline.Identity{Name: name, Roles: roles, Source: pipeline.IdentityKey, Claims: claims}
}

// jsonClaims turns a consumer's static claims, as decoded from YAML, into
// the JSON values expressions work with (YAML integers are not).
func jsonClaims(claims map[string]any) (map[string]any, error) {
	if claims == nil {
		return nil, nil
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("not JSON values: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("not JSON values: %w", err)
	}
	return out, nil
}

// byName returns the consumer called name, or nil (also for a nil k).
func (k *apiKeys) byName(name string) *consumer {
	if k == nil {
		return nil
	}
	i, found := sort.Find(len(k.consumers), func(i int) int { return strings.Compare(name, k.consumers[i].id.Name) })
	if !found {
		return nil
	}
	return &k.consumers[i]
}

// lookup returns the consumer whose key is key, or nil. Every configured
// hash is compared, in constant time, whatever matches: the time taken
// says nothing about which consumer, or how much of a hash, matched.
func (k *apiKeys) lookup(key string) *consumer {
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range k.consumers {
		if subtle.ConstantTimeCompare(sum[:], k.consumers[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil
	}
	return &k.consumers[found]
}

// HashKey returns the hex SHA-256 of an API key: the key_sha256 of its
// consumer in gateway.yaml.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
