package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testItem(i int) *item {
	return &item{subject: "manifold.audit.p", id: fmt.Sprintf("id-%05d", i), data: []byte(strings.Repeat("x", 1000))}
}

func mustOpen(t *testing.T, dir string, limit int64) *spool {
	t.Helper()
	s, err := openSpool(dir, limit, func(err error) { t.Logf("spool: %v", err) })
	if err != nil {
		t.Fatalf("openSpool: %v", err)
	}
	return s
}

// readAll reads every unread item and acknowledges the first ack of them.
func readAll(t *testing.T, s *spool, ack int) []*item {
	t.Helper()
	var out []*item
	for {
		items, err := s.next(64)
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if len(items) == 0 {
			break
		}
		out = append(out, items...)
	}
	for _, it := range out[:ack] {
		s.ack(it.end)
	}
	return out
}

func checkIDs(t *testing.T, items []*item, from, to int) {
	t.Helper()
	if len(items) != to-from {
		t.Fatalf("got %d items, want %d", len(items), to-from)
	}
	for i, it := range items {
		if want := fmt.Sprintf("id-%05d", from+i); it.id != want || it.subject != "manifold.audit.p" || len(it.data) != 1000 {
			t.Fatalf("item %d = %s, want %s", i, it.id, want)
		}
	}
}

// TestSpoolKeepsOrderAcrossSegmentsAndRestarts appends over several
// segments, acknowledges part, reopens, and reads the rest in order.
func TestSpoolKeepsOrderAcrossSegmentsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, 1<<20) // segments of 128KiB: ~8 of them
	for i := range 600 {
		if err := s.append(testItem(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) < 4 {
		t.Errorf("%d segments, want several", len(segs))
	}
	checkIDs(t, readAll(t, s, 250), 0, 600)
	if err := s.close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir, 1<<20)
	if n, _ := s.len(); n != 350 {
		t.Fatalf("reopened spool holds %d, want 350", n)
	}
	checkIDs(t, readAll(t, s, 350), 250, 600)
	if n, size := s.len(); n != 0 || size != 0 {
		t.Errorf("drained spool: %d items, %d bytes; want empty", n, size)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 0 {
		t.Errorf("drained spool left %v", segs)
	}
}

func TestSpoolRewindReadsUnacknowledgedAgain(t *testing.T) {
	s := mustOpen(t, t.TempDir(), 1<<20)
	for i := range 10 {
		_ = s.append(testItem(i))
	}
	first := readAll(t, s, 4)
	checkIDs(t, first, 0, 10)
	s.rewind()
	checkIDs(t, readAll(t, s, 0), 4, 10)
}

func TestSpoolBound(t *testing.T) {
	s := mustOpen(t, t.TempDir(), 10_000)
	n := 0
	for ; n < 100; n++ {
		if err := s.append(testItem(n)); err != nil {
			if err != ErrSpoolFull {
				t.Fatalf("append: %v, want ErrSpoolFull", err)
			}
			break
		}
	}
	if _, size := s.len(); n == 0 || n == 100 || size > 10_000 {
		t.Errorf("%d items (%d bytes) fit a 10,000 byte spool", n, size)
	}
}

// TestSpoolCutsATornRecord: a record half-written by a crash is cut at
// the next open; the whole ones before it are kept.
func TestSpoolCutsATornRecord(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, 1<<20)
	for i := range 5 {
		_ = s.append(testItem(i))
	}
	_ = s.close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(encodeRecord(testItem(5))[:300])
	_ = f.Close()

	s = mustOpen(t, dir, 1<<20)
	checkIDs(t, readAll(t, s, 5), 0, 5)
	if err := s.append(testItem(6)); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, readAll(t, s, 1), 6, 7)
}

// TestRetryIsStoredOnce sends an event that JetStream already has again,
// as after a lost acknowledgement: Nats-Msg-Id makes it a duplicate.
func TestRetryIsStoredOnce(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true}, nil)
	e := newEntry(context.Background(), call(1, "cityDeals"), nil)
	p.enqueue(e)
	eventually(t, 5*time.Second, "first send acknowledged", func() bool { return p.Stats().Published == 1 })
	p.overflow(e) // the same event, through the spool
	p.Record(context.Background(), call(2, "cityDeals"))
	eventually(t, 5*time.Second, "second send acknowledged", func() bool { return p.Stats().Published == 3 })
	if s := p.Stats(); s.Duplicates != 1 {
		t.Errorf("Duplicates = %d, want 1", s.Duplicates)
	}
	if got := len(readStream(t, connectTo(t, p.conn.Server()))); got != 2 {
		t.Errorf("stream holds %d events, want 2", got)
	}
}
