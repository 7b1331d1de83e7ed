package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is a run's outcome. RSS values are KiB of the whole process:
// load generator, gateway and backends together (0 where /proc is absent).
type report struct {
	Mode       string   `json:"mode"` // fanout, demo, distinct or proxy (gateway: the pass-through, direct: decoding)
	Pipeline   string   `json:"pipeline"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	NumCPU     int      `json:"num_cpu"`
	Rate       int      `json:"rate"` // 0: closed loop with Workers in flight
	Duration   string   `json:"duration"`
	Workers    int      `json:"workers"`
	Latency    string   `json:"backend_latency"`
	Same       bool     `json:"same_requests"`
	Audit      bool     `json:"audit"`
	Gateway    *summary `json:"gateway"`
	Direct     *summary `json:"direct"`
	Ratios     *ratios  `json:"gateway_over_direct"`
	RSSBefore  int64    `json:"rss_before_kib"`
	RSSAfter   int64    `json:"rss_after_kib"`
	RSSPeak    int64    `json:"rss_peak_kib"`
	Memory     *memory  `json:"memory,omitempty"` // -distinct only
}

func (r *report) writeJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *report) writeText(w io.Writer) {
	pace := "closed loop, " + strconv.Itoa(r.Workers) + " workers"
	if r.Rate > 0 {
		pace = strconv.Itoa(r.Rate) + " req/s"
	}
	if r.Audit {
		pace += "; audit on"
	}
	fmt.Fprintf(w, "Manifold load: %s (pipeline %s), backends answer after %s; %s; %s per target; GOMAXPROCS %d of %d CPUs\n\n",
		r.Mode, r.Pipeline, r.Latency, pace, r.Duration, r.GOMAXPROCS, r.NumCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\tsuccess\treq/s\tp50\tp90\tp99\tmax\tCPU/req\tcores\tothers\t")
	for _, s := range []*summary{r.Gateway, r.Direct} {
		if s == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t%.0f\t%s\t%s\t%s\t%s\t%.0fµs\t%.2f\t%.2f\t\n",
			s.Target, s.Requests, 100*s.Success, s.Throughput, s.P50, s.P90, s.P99, s.Max, s.CPUPerRequest, s.CPUCores, s.OtherCores)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(req/s: successful answers per second; CPU/req and cores: this whole process; others: cores busy with other processes meanwhile)")
	for _, s := range []*summary{r.Gateway, r.Direct} {
		if s != nil && len(s.Errors) > 0 {
			fmt.Fprintf(w, "%s errors: %s\n", s.Target, strings.Join(s.Errors, "; "))
		}
	}
	if q := r.Ratios; q != nil {
		fmt.Fprintf(w, "\n%s: req/s %.2fx, p50 %.2fx, p90 %.2fx, p99 %.2fx, CPU/req %.2fx; p50 overhead %+.2fms\n",
			r.ratioName(), q.Throughput, q.P50, q.P90, q.P99, q.CPU, float64(q.P50Overhead))
	}
	fmt.Fprintf(w, "RSS of the whole process (generator + gateway + backends): before %s, after %s, peak %s\n",
		mib(r.RSSBefore), mib(r.RSSAfter), mib(r.RSSPeak))
	if r.Memory != nil {
		r.Memory.writeText(w)
	}
}

// ratioName says what the ratios compare.
func (r *report) ratioName() string {
	if r.Mode == "proxy" {
		return "proxy/decoding"
	}
	return "gateway/direct"
}

func (m millis) String() string {
	if m < 10 {
		return strconv.FormatFloat(float64(m), 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(float64(m), 'f', 1, 64) + "ms"
}

func mib(kib int64) string {
	if kib == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// machineBusy is the CPU time all processes of the machine have used so
// far, from /proc/stat (in USER_HZ ticks, 100 a second on Linux); 0 where
// it is not available. Minus this process's own time, it tells how much
// other tenants competed with a run.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, f := range fields[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue // idle, iowait
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// rss reads a field of /proc/self/status in KiB (VmRSS: resident now,
// VmHWM: peak resident); 0 where it is not available.
func rss(field string) int64 { return procStatus("/proc/self/status", field) }

// procStatus reads a KiB field of a /proc/PID/status file (0 if absent).
func procStatus(path, field string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kib
	}
	return 0
}

// ratio is a/b, or 0 when b is (a target that answered nothing).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
