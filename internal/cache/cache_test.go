package cache

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func newCache(t testing.TB, maxBytes int64) *Cache {
	t.Helper()
	c, err := New(maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func entry(value string, fresh, stale time.Duration) *Entry {
	now := time.Now()
	return &Entry{
		Value:      []byte(value),
		Header:     http.Header{"Content-Type": {"application/json"}},
		Status:     http.StatusOK,
		StoredAt:   now,
		FreshUntil: now.Add(fresh),
		StaleUntil: now.Add(fresh + stale),
	}
}

func TestNewRejectsNonPositiveSize(t *testing.T) {
	for _, size := range []int64{0, -1} {
		if _, err := New(size); err == nil {
			t.Errorf("New(%d): want error", size)
		}
	}
}

func TestGetStates(t *testing.T) {
	c := newCache(t, 1<<20)
	tests := []struct {
		name             string
		entry            *Entry
		wantOK, wantFrsh bool
	}{
		{"fresh", entry("a", time.Hour, time.Hour), true, true},
		{"stale", entry("b", -time.Minute, time.Hour), true, false},
		{"stale window shorter than fresh", entry("c", time.Hour, -2*time.Hour), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := c.Key("ns", []byte(tt.name))
			if !c.Set(key, tt.entry) {
				t.Fatal("Set refused")
			}
			c.Wait()
			got, fresh, ok := c.Get(key)
			if ok != tt.wantOK || fresh != tt.wantFrsh {
				t.Fatalf("Get: ok=%v fresh=%v, want ok=%v fresh=%v", ok, fresh, tt.wantOK, tt.wantFrsh)
			}
			if !bytes.Equal(got.Value, tt.entry.Value) || got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Get returned %+v, want %+v", got, tt.entry)
			}
		})
	}
}

func TestSetRefusesExpiredEntry(t *testing.T) {
	c := newCache(t, 1<<20)
	key := c.Key("ns", []byte("old"))
	if c.Set(key, entry("x", -time.Hour, time.Minute)) {
		t.Error("Set accepted an expired entry")
	}
}

func TestEntryExpiresAfterStaleWindow(t *testing.T) {
	c := newCache(t, 1<<20)
	key := c.Key("ns", []byte("k"))
	c.Set(key, entry("x", 0, 20*time.Millisecond))
	c.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, ok := c.Get(key); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("entry still served long after its stale window")
		}
		time.Sleep(5 * time.Millisecond) // polling for time to pass
	}
}

func TestDel(t *testing.T) {
	c := newCache(t, 1<<20)
	key := c.Key("ns", []byte("k"))
	c.Set(key, entry("x", time.Hour, 0))
	c.Wait()
	c.Del(key)
	if _, _, ok := c.Get(key); ok {
		t.Error("entry still there after Del")
	}
}

func TestPurgeNamespace(t *testing.T) {
	c := newCache(t, 1<<20)
	a, b := c.Key("a", []byte("k")), c.Key("b", []byte("k"))
	c.Set(a, entry("a", time.Hour, 0))
	c.Set(b, entry("b", time.Hour, 0))
	c.Wait()

	c.PurgeNamespace("a")
	if _, _, ok := c.Get(c.Key("a", []byte("k"))); ok {
		t.Error("namespace a still served after PurgeNamespace(a)")
	}
	if _, _, ok := c.Get(c.Key("b", []byte("k"))); !ok {
		t.Error("namespace b lost after PurgeNamespace(a)")
	}

	c.Purge()
	if _, _, ok := c.Get(c.Key("b", []byte("k"))); ok {
		t.Error("namespace b still served after Purge")
	}
}

func TestKey(t *testing.T) {
	var c *Cache // a nil cache builds keys too
	tests := []struct {
		name string
		a, b []string // parts of two keys that must differ
	}{
		{"part boundaries", []string{"ab", "c"}, []string{"a", "bc"}},
		{"empty part", []string{"a", ""}, []string{"a"}},
		{"order", []string{"a", "b"}, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c.Key("ns", bytesOf(tt.a)...) == c.Key("ns", bytesOf(tt.b)...) {
				t.Errorf("Key(%q) == Key(%q)", tt.a, tt.b)
			}
		})
	}
	if c.Key("x", []byte("k")) == c.Key("y", []byte("k")) {
		t.Error("namespaces share a key")
	}
	if c.Key("x", []byte("k")) != c.Key("x", []byte("k")) {
		t.Error("Key is not deterministic")
	}
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestSizeBound(t *testing.T) {
	const maxBytes = 64 << 10
	c := newCache(t, maxBytes)
	value := string(make([]byte, 4<<10))
	for i := range 100 { // 400 KiB offered to a 64 KiB cache
		c.Set(c.Key("ns", fmt.Appendf(nil, "%d", i)), entry(value, time.Hour, 0))
		c.Wait()
	}
	held := 0
	for i := range 100 {
		if _, _, ok := c.Get(c.Key("ns", fmt.Appendf(nil, "%d", i))); ok {
			held++
		}
	}
	if held == 0 || held*(4<<10) > maxBytes {
		t.Errorf("cache holds %d entries of 4 KiB, want 1..%d", held, maxBytes/(4<<10))
	}
}

func FuzzKey(f *testing.F) {
	f.Add([]byte("GET /a"), []byte("b"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var c *Cache
		if len(a) == 0 {
			return
		}
		// Moving one byte across the boundary between parts changes the key.
		moved := append(append([]byte{}, a[len(a)-1]), b...)
		if c.Key("ns", a, b) == c.Key("ns", a[:len(a)-1], moved) {
			t.Errorf("Key(%q, %q) collides with its shifted split", a, b)
		}
	})
}

func BenchmarkGetHit(b *testing.B) {
	c := newCache(b, 1<<20)
	key := c.Key("ns", []byte("GET /markets?city=Berlin"))
	c.Set(key, entry(`{"markets":[]}`, time.Hour, time.Hour))
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := c.Get(key); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkKey(b *testing.B) {
	var c *Cache
	parts := [][]byte{[]byte("GET"), []byte("/markets"), []byte("city=Berlin&limit=5")}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Key("markets", parts...)
	}
}
