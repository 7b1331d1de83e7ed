package audit

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpoolReplaysAnEventLargerThanAReadChunk: an event bigger than the
// spool's 256 KiB read chunk is replayed whole, between its neighbours.
func TestSpoolReplaysAnEventLargerThanAReadChunk(t *testing.T) {
	s := mustOpen(t, t.TempDir(), 8<<20)
	big := &item{subject: "manifold.audit.p", id: "big", data: []byte(strings.Repeat("y", readChunk+1000))}
	for _, it := range []*item{testItem(0), big, testItem(2)} {
		if err := s.append(it); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, s, 3)
	if len(got) != 3 || got[0].id != "id-00000" || got[1].id != "big" || len(got[1].data) != len(big.data) || got[2].id != "id-00002" {
		t.Fatalf("replayed %d items", len(got))
	}
	if n, size := s.len(); n != 0 || size != 0 {
		t.Errorf("after acknowledging all: %d pending, %d bytes", n, size)
	}
}

// TestSpoolGivesUpAnUnreadableTail: a record header damaged while the
// spool is open (its length points past the segment's end) makes the
// rest of that segment unreadable: it is reported and dropped, the
// records before it replay, and the spool still drains to empty.
func TestSpoolGivesUpAnUnreadableTail(t *testing.T) {
	dir := t.TempDir()
	loss := &lossLog{}
	s, err := openSpool(dir, 1<<20, loss.report)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := s.append(testItem(i)); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := int64(len(encodeRecord(testItem(0))))
	var huge [4]byte
	binary.BigEndian.PutUint32(huge[:], 1<<30)
	if _, err := f.WriteAt(huge[:], 10*rec); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := readAll(t, s, 10)
	checkIDs(t, got, 0, 10)
	if errs := loss.get(); len(errs) != 1 {
		t.Errorf("reported %q, want one loss", errs)
	}
	if n, size := s.len(); n != 0 || size != 0 {
		t.Errorf("after acknowledging what was readable: %d pending, %d bytes; want an empty spool", n, size)
	}
	_ = s.close()
}
