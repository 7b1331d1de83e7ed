package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// decodeRecord checks a whole record's checksum and decodes its payload.
func decodeRecord(rec []byte) (*item, error) {
	payload := rec[recordHeader:]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(rec[4:]) {
		return nil, errors.New("checksum mismatch")
	}
	return decodePayload(payload)
}

// drop reports the damaged record at p, once however often it is read.
func (s *spool) drop(p pos, err error) {
	if s.lost[p] {
		return
	}
	if s.lost == nil {
		s.lost = map[pos]bool{}
	}
	s.lost[p] = true
	if s.corrupt != nil {
		s.corrupt(fmt.Errorf("segment %d: the record at offset %d is dropped: %w", p.seg, p.off, err))
	}
}
