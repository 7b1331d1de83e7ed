package audit

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// flipByteOfRecord flips one byte in the event data of record i (all
// records of testItem have the same size) of the spool's only segment.
func flipByteOfRecord(t *testing.T, dir string, i int) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	rec := int64(len(encodeRecord(testItem(0))))
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := int64(i)*rec + rec/2 // inside the event JSON, past the header
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// lossLog collects what the spool reports as lost.
type lossLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *lossLog) report(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err.Error())
}

func (l *lossLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// TestSpoolDropsACorruptRecordOnly: a byte flipped in the middle of a
// segment costs that one record: the loss is reported once, and the
// records after it replay in order, whether the damage is found at the
// next start or while the spool is open. The spool then drains to empty.
func TestSpoolDropsACorruptRecordOnly(t *testing.T) {
	for _, reopen := range []bool{true, false} {
		name := map[bool]string{true: "found at start", false: "found while open"}[reopen]
		t.Run(name, func(t *testing.T) {
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
			if reopen {
				if err := s.close(); err != nil {
					t.Fatal(err)
				}
				flipByteOfRecord(t, dir, 10)
				if s, err = openSpool(dir, 1<<20, loss.report); err != nil {
					t.Fatal(err)
				}
				if n, _ := s.len(); n != 19 {
					t.Errorf("the reopened spool holds %d records, want 19", n)
				}
			} else {
				flipByteOfRecord(t, dir, 10)
			}
			got := readAll(t, s, 0)
			s.rewind() // a failed publish reads them again: no second report
			got2 := readAll(t, s, 19)
			for _, items := range [][]*item{got, got2} {
				var ids []string
				for _, it := range items {
					ids = append(ids, it.id)
				}
				want := "id-00000 id-00001 id-00002 id-00003 id-00004 id-00005 id-00006 id-00007 id-00008 id-00009 " +
					"id-00011 id-00012 id-00013 id-00014 id-00015 id-00016 id-00017 id-00018 id-00019"
				if strings.Join(ids, " ") != want {
					t.Errorf("replayed %v, want every record but id-00010, in order", ids)
				}
			}
			if errs := loss.get(); len(errs) != 1 || !strings.Contains(errs[0], "checksum") {
				t.Errorf("reported %q, want one loss naming the checksum", errs)
			}
			if n, size := s.len(); n != 0 || size != 0 {
				t.Errorf("after acknowledging every record: %d pending, %d bytes; want an empty spool", n, size)
			}
			_ = s.close()
		})
	}
}
