package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/telemetry"
)

// Environment of a gateway child (-lean mode): the harness starts this
// same binary with childDirEnv set, and the child serves that pipeline
// directory the way `manifold serve --dir` does, with the JSON access log
// on its stderr at childLevelEnv.
const (
	childDirEnv     = "MANIFOLD_LOAD_CHILD_DIR"
	childLevelEnv   = "MANIFOLD_LOAD_CHILD_LOG_LEVEL"
	childProfileEnv = "MANIFOLD_LOAD_CHILD_PROFILE" // file prefix: PREFIX.cpu, .allocs, and .heap and .mem at peak RSS
)

// childMain runs a gateway child when the environment asks for one; it
// reports whether it did (the process should then exit with code).
func childMain() (ran bool, code int) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		return false, 0
	}
	if err := serveChild(dir, os.Getenv(childLevelEnv), os.Getenv(childProfileEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "load child:", err)
		return true, 1
	}
	return true, 0
}

// serveChild serves dir until SIGTERM, printing the gateway's address on
// stdout once it listens.
func serveChild(dir, level, profile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	// The log as `manifold serve` writes it: JSON, buffered.
	out := telemetry.NewLogWriter(os.Stderr, telemetry.LogWriterOptions{})
	defer out.Close()
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lv}))
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile + ".cpu")
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			writeAllocs(profile + ".allocs")
		}()
		go watchPeak(ctx, profile)
	}
	return launch.Serve(ctx, plan, launch.Options{
		Logger: log, AccessLog: &telemetry.AccessLog{W: out, JSON: true},
		Ready: func(addr string) { fmt.Println(addr) },
	})
}

// watchPeak writes the heap profile and the runtime's memory statistics
// each time the resident set grows past its previous peak by 2 MiB, so
// that PREFIX.heap and PREFIX.mem describe the process at its peak RSS,
// where a profile taken at exit would describe it after the load.
func watchPeak(ctx context.Context, profile string) {
	var peak int64
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rss := procStatus("/proc/self/status", "VmRSS")
		if rss < peak+2048 {
			continue
		}
		peak = rss
		if f, err := os.Create(profile + ".heap"); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
		_ = os.WriteFile(profile+".mem", fmt.Appendf(nil,
			"VmRSS %.1f MiB\nHeapInuse %.1f\nHeapIdle %.1f\nHeapReleased %.1f\nStackInuse %.1f\nHeapAlloc %.1f\nNextGC %.1f\nSys %.1f\nNumGC %d\nGoroutines %d\n",
			float64(rss)/1024, mib(m.HeapInuse), mib(m.HeapIdle), mib(m.HeapReleased), mib(m.StackInuse),
			mib(m.HeapAlloc), mib(m.NextGC), mib(m.Sys), m.NumGC, runtime.NumGoroutine()), 0o644)
	}
}

// writeAllocs writes the allocation profile to file.
func writeAllocs(file string) {
	f, err := os.Create(file)
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	_ = pprof.Lookup("allocs").WriteTo(f, 0)
}
