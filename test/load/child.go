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
	childProfileEnv = "MANIFOLD_LOAD_CHILD_PROFILE" // file prefix: PREFIX.cpu and PREFIX.allocs
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
	}
	return launch.Serve(ctx, plan, launch.Options{
		Logger: log, AccessLog: &telemetry.AccessLog{W: out, JSON: true},
		Ready: func(addr string) { fmt.Println(addr) },
	})
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
