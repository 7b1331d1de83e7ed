package telemetry

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// TestAttrSetsBounded: every key gets its own attributes, cached or not,
// and the cache stops growing at its bound.
func TestAttrSetsBounded(t *testing.T) {
	c := newAttrSets(func(k string) []attribute.KeyValue { return []attribute.KeyValue{attrPipeline.String(k)} })
	for i := range maxAttrSets + 100 {
		for range 2 { // the second lookup is served from the cache, while it has room
			k := "p" + strconv.Itoa(i)
			cfg := metric.NewAddConfig([]metric.AddOption{c.get(k)})
			set := cfg.Attributes()
			if v, ok := set.Value(attrPipeline); !ok || v.AsString() != k {
				t.Fatalf("key %s: attributes %v", k, set.ToSlice())
			}
		}
	}
	if n := len(*c.m.Load()); n != maxAttrSets {
		t.Fatalf("the cache holds %d sets, want its bound %d", n, maxAttrSets)
	}
}
