package telemetry

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Defaults of LogWriter.
const (
	// DefaultLogFlush is how often buffered log lines are written out.
	DefaultLogFlush = 100 * time.Millisecond
	// DefaultLogBuffer bounds the log lines held in memory while the
	// output is slow; past it lines are dropped and counted.
	DefaultLogBuffer = 4 << 20
	// logFlushAt is the buffer size that triggers a write before the
	// interval is up.
	logFlushAt = 64 << 10
)

// LogWriter buffers the gateway's log (the access log: one line per
// request) in memory and writes it to the output on a short interval, when
// 64 KiB are pending, and at Close. A request never waits for the output:
// Write only copies the line, and while a write to a slow disk or a full
// pipe is under way, new lines go to a second buffer. When that one
// reaches its bound, lines are dropped; the next write to the output
// says how many.
type LogWriter struct {
	out      io.Writer
	max      int
	dropLine func(n uint64) []byte

	mu      sync.Mutex // guards buf, dropped, closed
	buf     []byte
	dropped uint64
	closed  bool

	outMu sync.Mutex // one write to out at a time
	spare []byte     // the buffer being written, reused (under outMu)
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// LogWriterOptions tune NewLogWriter; zero values mean the defaults.
type LogWriterOptions struct {
	Flush     time.Duration // DefaultLogFlush
	MaxBuffer int           // DefaultLogBuffer
	// DropLine formats the line written after lines were dropped, in the
	// log's own format (default: a JSON line).
	DropLine func(n uint64) []byte
}

// NewLogWriter returns a LogWriter on out and starts its flusher; Close
// stops it and writes what is left.
func NewLogWriter(out io.Writer, opts LogWriterOptions) *LogWriter {
	if opts.Flush <= 0 {
		opts.Flush = DefaultLogFlush
	}
	if opts.MaxBuffer <= 0 {
		opts.MaxBuffer = DefaultLogBuffer
	}
	if opts.DropLine == nil {
		opts.DropLine = JSONDropLine
	}
	w := &LogWriter{
		out: out, max: opts.MaxBuffer, dropLine: opts.DropLine,
		buf: make([]byte, 0, logFlushAt), spare: make([]byte, 0, logFlushAt),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go w.loop(opts.Flush)
	return w
}

// JSONDropLine is the line about dropped log lines, as JSON.
func JSONDropLine(n uint64) []byte {
	return fmt.Appendf(nil, "{\"time\":%q,\"level\":\"ERROR\",\"msg\":\"log lines dropped: the log output is too slow\",\"dropped\":%d}\n",
		time.Now().Format(time.RFC3339Nano), n)
}

// TextDropLine is the line about dropped log lines, as slog's text.
func TextDropLine(n uint64) []byte {
	return fmt.Appendf(nil, "time=%s level=ERROR msg=\"log lines dropped: the log output is too slow\" dropped=%d\n",
		time.Now().Format(time.RFC3339Nano), n)
}

// Write implements io.Writer: it copies p (one log record, as slog
// handlers write them) into the buffer and returns at once.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.outMu.Lock() // after Close, write through: shutdown lines stay in order
		defer w.outMu.Unlock()
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.max {
		w.dropped++
		w.mu.Unlock()
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= logFlushAt
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (w *LogWriter) loop(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		case <-w.stop:
			return
		}
		w.Flush()
	}
}

// Flush writes the buffered lines to the output now.
func (w *LogWriter) Flush() {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.mu.Lock()
	pending, dropped := w.buf, w.dropped
	w.buf, w.dropped = w.spare[:0], 0
	w.mu.Unlock()
	w.write(pending, dropped)
	if cap(pending) > 16*logFlushAt {
		pending = make([]byte, 0, logFlushAt) // a burst's buffer is not kept
	}
	w.spare = pending[:0]
}

// write writes pending and the line about dropped lines (under outMu).
func (w *LogWriter) write(pending []byte, dropped uint64) {
	if len(pending) > 0 {
		_, _ = w.out.Write(pending)
	}
	if dropped > 0 {
		_, _ = w.out.Write(w.dropLine(dropped))
	}
}

// Close stops the flusher and writes what is buffered; later writes go
// straight to the output.
func (w *LogWriter) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		w.outMu.Lock()
		defer w.outMu.Unlock()
		w.mu.Lock()
		pending, dropped := w.buf, w.dropped
		w.buf, w.dropped, w.closed = nil, 0, true
		w.mu.Unlock()
		w.write(pending, dropped)
	})
	return nil
}
