package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrSpoolFull is returned by append when an event would take the spool
// past its byte bound.
var ErrSpoolFull = errors.New("audit spool is full")

// Spool file layout: segment files named <seq>.seg holding records of
// [length uint32][crc32c uint32][payload]; payload is [len uint16][subject]
// [len uint16][id][event JSON]. A cursor file keeps the position of the
// first unacknowledged record across a graceful restart.
const (
	segExt       = ".seg"
	cursorFile   = "cursor"
	recordHeader = 8
	readChunk    = 256 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// item is one encoded event: what is published, and where it sits in the
// spool when it was read from there.
type item struct {
	subject string
	id      string
	data    []byte
	end     pos  // spool position after this record; zero when not spooled
	n       int  // events in data (a batch holds several); 0: not counted yet
	pooled  bool // data came from eventBufs or batchBufs; release gives it back
}

// pos is a position in the spool: a segment and an offset in it.
type pos struct {
	seg uint64
	off int64
}

type segment struct {
	seq  uint64
	size int64
	r    *os.File // opened for reading on demand
}

func (s *segment) path(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("%016d%s", s.seq, segExt))
}

// spool is a bounded FIFO of items in append-only segment files. Items are
// read in append order; a read item stays on disk until acknowledged, and
// rewind goes back to the first unacknowledged one. It is safe for
// concurrent use.
type spool struct {
	dir    string
	max    int64 // bytes of all segment files at most
	segMax int64 // a segment is closed once it reaches this size

	mu      sync.Mutex
	segs    []*segment // oldest first
	w       *os.File   // appends to the last segment
	size    int64
	read    pos // next record to read
	commit  pos // first unacknowledged record
	pending int // records at or after commit
	unread  atomic.Int64
	corrupt func(err error) // reports records lost to corruption
	lost    map[pos]bool    // damaged records already reported, by start
}

// openSpool opens (or creates) the spool in dir and recovers what a
// previous process left there.
func openSpool(dir string, limit int64, corrupt func(error)) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit spool: %w", err)
	}
	segMax := min(max(limit/8, 64<<10), 8<<20)
	s := &spool{dir: dir, max: limit, segMax: segMax, corrupt: corrupt}
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("audit spool %s: %w", dir, err)
	}
	return s, nil
}

// recover lists the segments, truncates a torn record at the end of the
// last one, and positions the cursor.
func (s *spool) recover() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+segExt))
	if err != nil {
		return err
	}
	for _, name := range names {
		seq, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), segExt), 10, 64)
		if err != nil {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, &segment{seq: seq, size: fi.Size()})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].seq < s.segs[j].seq })
	if len(s.segs) == 0 {
		return nil
	}
	s.commit = pos{seg: s.segs[0].seq}
	if c, ok := s.readCursor(); ok {
		s.commit = c
	}
	s.read = s.commit
	n, err := s.count()
	if err != nil {
		return err
	}
	s.pending = n
	s.unread.Store(int64(n))
	for _, g := range s.segs {
		s.size += g.size
	}
	return nil
}

// count counts the records from the cursor on, cutting a segment where a
// record is torn or corrupt (a crash in the middle of a write).
func (s *spool) count() (int, error) {
	n := 0
	for _, g := range s.segs {
		off := int64(0)
		if g.seq < s.commit.seg {
			continue
		}
		if g.seq == s.commit.seg {
			off = s.commit.off
		}
		for off < g.size {
			items, next, err := s.readAt(g, off, readChunk)
			if err != nil || next == off {
				if s.corrupt != nil {
					s.corrupt(fmt.Errorf("segment %d cut at offset %d: %v", g.seq, off, err))
				}
				if terr := os.Truncate(g.path(s.dir), off); terr != nil {
					return 0, terr
				}
				g.size = off
				break
			}
			n += len(items)
			off = next
		}
	}
	return n, nil
}

func (s *spool) readCursor() (pos, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorFile))
	if err != nil {
		return pos{}, false
	}
	var c pos
	if _, err := fmt.Sscanf(string(b), "%d %d", &c.seg, &c.off); err != nil {
		return pos{}, false
	}
	for _, g := range s.segs {
		if g.seq == c.seg && c.off <= g.size {
			return c, true
		}
	}
	return pos{}, false
}

// append adds it at the end, or returns ErrSpoolFull.
func (s *spool) append(it *item) error {
	rec := encodeRecord(it)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(len(rec)) > s.max {
		return ErrSpoolFull
	}
	last := s.last()
	if last == nil || last.size >= s.segMax || s.w == nil {
		if err := s.rotate(); err != nil {
			return err
		}
		last = s.last()
	}
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	last.size += int64(len(rec))
	s.size += int64(len(rec))
	s.pending++
	s.unread.Add(1)
	return nil
}

func (s *spool) last() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// rotate starts a new segment for appends.
func (s *spool) rotate() error {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	seq := uint64(1)
	if l := s.last(); l != nil {
		seq = l.seq + 1
	}
	g := &segment{seq: seq}
	f, err := os.OpenFile(g.path(s.dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	s.w = f
	if len(s.segs) == 0 {
		s.read, s.commit = pos{seg: seq}, pos{seg: seq}
	}
	s.segs = append(s.segs, g)
	return nil
}

// next reads up to n unread items, in order.
func (s *spool) next(n int) ([]*item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*item
	for len(out) < n && s.unread.Load() > 0 {
		g := s.segment(s.read.seg)
		if g == nil {
			return out, fmt.Errorf("audit spool: segment %d vanished", s.read.seg)
		}
		if s.read.off >= g.size {
			nx := s.after(g.seq)
			if nx == nil {
				break
			}
			s.read = pos{seg: nx.seq}
			continue
		}
		lost := len(s.lost)
		items, next, err := s.readAt(g, s.read.off, readChunk)
		if err != nil || next == s.read.off {
			// Cannot happen for records this process wrote whole; skip
			// the rest of the segment rather than loop on it.
			s.skip(g, fmt.Errorf("segment %d at offset %d: %v", g.seq, s.read.off, err))
			continue
		}
		if fresh := len(s.lost) - lost; fresh > 0 {
			// Damaged since it was appended: it was counted then.
			s.pending -= fresh
			s.unread.Add(-int64(fresh))
		}
		if len(items) == 0 {
			s.read.off = next
			continue
		}
		if len(items) > n-len(out) {
			items = items[:n-len(out)]
			next = items[len(items)-1].end.off
		}
		out = append(out, items...)
		s.read.off = next
		s.unread.Add(-int64(len(items)))
	}
	return out, nil
}

// skip gives up the unreadable rest of segment g and counts again what
// is left, so that the spool can still drain to empty.
func (s *spool) skip(g *segment, err error) {
	if s.corrupt != nil {
		s.corrupt(err)
	}
	_ = os.Truncate(g.path(s.dir), s.read.off)
	s.size -= g.size - s.read.off
	g.size = s.read.off
	pending, unread := 0, 0
	for _, h := range s.segs {
		for i, from := range []pos{s.commit, s.read} {
			off := int64(0)
			if h.seq < from.seg {
				continue
			}
			if h.seq == from.seg {
				off = from.off
			}
			n := 0
			for off < h.size {
				items, next, rerr := s.readAt(h, off, readChunk)
				if rerr != nil || next == off {
					break
				}
				n, off = n+len(items), next
			}
			if i == 0 {
				pending += n
			} else {
				unread += n
			}
		}
	}
	s.pending = pending
	s.unread.Store(int64(unread))
}

// readAt parses the whole records in up to chunk bytes of g from off (at
// least one record, however large).
func (s *spool) readAt(g *segment, off int64, chunk int) ([]*item, int64, error) {
	if g.r == nil {
		f, err := os.Open(g.path(s.dir))
		if err != nil {
			return nil, off, err
		}
		g.r = f
	}
	want := min(int64(chunk), g.size-off)
	buf := make([]byte, want)
	if _, err := g.r.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, off, err
	}
	var out []*item
	start := off
	for len(buf) >= recordHeader {
		n := int64(binary.BigEndian.Uint32(buf))
		if int64(len(buf)) < recordHeader+n {
			if off == start && off+recordHeader+n <= g.size {
				return s.readAt(g, off, int(recordHeader+n)) // one large record
			}
			break
		}
		it, err := decodeRecord(buf[:recordHeader+n])
		at := pos{seg: g.seq, off: off}
		off += recordHeader + n
		buf = buf[recordHeader+n:]
		if err != nil {
			// A whole record that is damaged (a flipped bit): it is lost,
			// the records after it are not.
			s.drop(at, err)
			continue
		}
		it.end = pos{seg: g.seq, off: off}
		out = append(out, it)
	}
	if off == start {
		return nil, off, errors.New("torn record")
	}
	return out, off, nil
}

func (s *spool) segment(seq uint64) *segment {
	for _, g := range s.segs {
		if g.seq == seq {
			return g
		}
	}
	return nil
}

func (s *spool) after(seq uint64) *segment {
	for _, g := range s.segs {
		if g.seq > seq {
			return g
		}
	}
	return nil
}

// rewind goes back to the first unacknowledged item.
func (s *spool) rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read = s.commit
	s.unread.Store(int64(s.pending))
}

// ack acknowledges every item up to p, in order: segments read to the end
// are deleted, and an emptied spool starts over.
func (s *spool) ack(p pos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commit = p
	s.pending--
	for len(s.segs) > 1 && s.segs[0].seq < p.seg {
		s.remove(s.segs[0])
		s.segs = s.segs[1:]
	}
	if s.pending == 0 && s.unread.Load() == 0 {
		s.reset()
	}
}

// reset deletes every segment of an empty spool.
func (s *spool) reset() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	for _, g := range s.segs {
		s.remove(g)
	}
	s.segs, s.size, s.lost = nil, 0, nil
	s.read, s.commit = pos{}, pos{}
	_ = os.Remove(filepath.Join(s.dir, cursorFile))
}

func (s *spool) remove(g *segment) {
	if g.r != nil {
		_ = g.r.Close()
	}
	s.size -= g.size
	_ = os.Remove(g.path(s.dir))
}

// len returns the records not yet acknowledged, and their bytes on disk.
func (s *spool) len() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.size
}

// close keeps the cursor for the next process and closes the files.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.pending > 0 {
		c := fmt.Sprintf("%d %d\n", s.commit.seg, s.commit.off)
		err = os.WriteFile(filepath.Join(s.dir, cursorFile), []byte(c), 0o640)
	}
	if s.w != nil {
		err = errors.Join(err, s.w.Close())
		s.w = nil
	}
	for _, g := range s.segs {
		if g.r != nil {
			_ = g.r.Close()
			g.r = nil
		}
	}
	return err
}

func encodeRecord(it *item) []byte {
	n := 2 + len(it.subject) + 2 + len(it.id) + len(it.data)
	b := make([]byte, recordHeader, recordHeader+n)
	b = binary.BigEndian.AppendUint16(b, uint16(len(it.subject)))
	b = append(b, it.subject...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(it.id)))
	b = append(b, it.id...)
	b = append(b, it.data...)
	binary.BigEndian.PutUint32(b, uint32(n))
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[recordHeader:], castagnoli))
	return b
}

func decodePayload(p []byte) (*item, error) {
	field := func() (string, bool) {
		if len(p) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(p) < 2+n {
			return "", false
		}
		v := string(p[2 : 2+n])
		p = p[2+n:]
		return v, true
	}
	subject, ok1 := field()
	id, ok2 := field()
	if !ok1 || !ok2 {
		return nil, errors.New("malformed record")
	}
	return &item{subject: subject, id: id, data: append([]byte(nil), p...)}, nil
}
