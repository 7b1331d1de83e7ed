package soak

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reloadFile is the pipeline each reload edits; its summary gets the
// reload's number, so each edit is a real change of the pipeline.
const reloadFile = "product-search.yaml"

var summaryLine = regexp.MustCompile(`(?m)^summary: .*$`)

// reload edits the pipeline file and waits until the gateway reports the
// n-th successful reload (manifold_config_reloads_total), for at most
// 10 s. A failed reload fails the test.
func (st *stack) reload(t *testing.T, n int) {
	t.Helper()
	name := filepath.Join(st.dir, reloadFile)
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	edited := summaryLine.ReplaceAll(src, fmt.Appendf(nil, "summary: Search grocery products and their current deals (revision %d)", n))
	if err := os.WriteFile(name, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, failed := st.reloads(t)
		switch {
		case failed > 0:
			t.Fatalf("reload %d failed (manifold_config_reloads_total{result=failure} = %d)", n, failed)
		case ok >= n:
			return
		case time.Now().After(deadline):
			t.Fatalf("reload %d not done after 10s (%d done)", n, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var reloadsMetric = regexp.MustCompile(`^manifold_config_reloads_total\{.*manifold_result="(success|failure)".*\} (\d+)`)

// reloads reads the successful and failed reloads from /metrics.
func (st *stack) reloads(t *testing.T) (ok, failed int) {
	t.Helper()
	resp, err := http.Get(st.base + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		m := reloadsMetric.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if strings.EqualFold(m[1], "success") {
			ok = n
		} else {
			failed = n
		}
	}
	return ok, failed
}
