package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// zeros is an endless body of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// peakRSS is the process's resident memory high-water mark in MiB (VmHWM).
func peakRSS(t *testing.T, pid int) float64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// Uploads no route wants cannot exhaust the venue's memory: 16 concurrent 60 MiB bodies with a
// Content-Length and 16 chunked ones, with no token, to ordinary routes (refused 413 problem+json
// without being read, or cut off at the route's 1 MiB; 404 where there is no route), and 8 more to the statement import (the
// one route that takes 64 MiB: refused 401 before a byte is read). The venue's peak resident
// memory stays under 200 MiB (it went to 1.1 GiB with eight such uploads before: issue 11).
func TestLargeUploadsDoNotExhaustMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a venue process")
	}
	v := newTestVenue(t, nil)
	const size = 60 << 20
	body := make([]byte, size)
	client := &http.Client{}
	type answer struct {
		route   string
		status  int
		problem bool
		err     error
	}
	answers := make(chan answer, 64)
	var wg sync.WaitGroup
	buyerToken, err := v.mint.Mint("upload", "buyer", demoID(6), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	send := func(route string, chunked bool, headers ...string) {
		defer wg.Done()
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = io.LimitReader(zeros{}, size) // no length known: sent chunked
		}
		req, _ := http.NewRequest("POST", v.base+route, r)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			answers <- answer{route: route, err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answers <- answer{route, resp.StatusCode, resp.Header.Get("Content-Type") == "application/problem+json", nil}
	}
	routes := []string{"/v1/assets", "/v1/negotiations", "/v1/payments/callback", "/v1/no-such-route"}
	for i := 0; i < 16; i++ {
		wg.Add(2)
		go send(routes[i%len(routes)], false)
		go send(routes[i%len(routes)], true)
	}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go send("/v1/reconciliation/imports?format=csv&period_end=2026-12-31", i%2 == 0)
	}
	// A buyer's token with an Idempotency-Key (whose store fingerprints bodies): still not read.
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go send("/v1/reconciliation/imports?format=csv&period_end=2026-12-31&as=buyer", i%2 == 0,
			"Authorization", "Bearer "+buyerToken, "Idempotency-Key", fmt.Sprintf("big-%d", i))
	}
	wg.Wait()
	close(answers)
	counts := map[string]int{}
	for a := range answers {
		want := http.StatusRequestEntityTooLarge
		switch {
		case strings.HasSuffix(a.route, "&as=buyer"):
			want = http.StatusForbidden // a buyer does not import: refused before the body is read
		case strings.HasPrefix(a.route, "/v1/reconciliation/imports"):
			want = http.StatusUnauthorized
		case a.route == "/v1/no-such-route":
			want = http.StatusNotFound // no route: its body is discarded unread
		}
		if a.err != nil || a.status != want || !a.problem {
			t.Errorf("POST %s (60 MiB): %d problem+json %v, error %v; want %d", a.route, a.status, a.problem, a.err, want)
		}
		counts[strconv.Itoa(a.status)]++
	}
	peak := peakRSS(t, v.cmd.Process.Pid)
	if peak >= 200 {
		t.Errorf("the venue's peak resident memory reached %.0f MiB under 44 large uploads", peak)
	}
	t.Logf("44 concurrent 60 MiB uploads (half chunked), 40 with no token and 4 a buyer's to the import: answers %v; the venue's peak RSS %.0f MiB", counts, peak)
}

// With DATAVENUE_METRICS_LISTEN the metrics are served on that address, without a token, and not
// on the API at all.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("a venue process")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v := newTestVenue(t, map[string]string{"DATAVENUE_METRICS_LISTEN": addr})
	var body string
	waitUntil(t, 10*time.Second, "the metrics listener", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if !strings.Contains(body, "datavenue_projection_lag_entries") {
		t.Fatalf("metrics on their own address lack the projection's:\n%.500s", body)
	}
	resp, err := http.Get(v.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API with a metrics listener: %d", resp.StatusCode)
	}
}
