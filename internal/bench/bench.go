// Package bench measures promorelay and writes the results as a Markdown
// table. Figures come from counted work (operations completed, capacity units
// DynamoDB reported), never from estimates. Compare ratios within one run:
// machines are shared and noisy.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Row is one measured figure.
type Row struct {
	Measure string // what was measured
	Engine  string // embedded, dynamo-local, …
	Value   string // the figure with its unit
	Target  string // the design target, if any
	Note    string
}

// Report collects rows and renders them.
type Report struct {
	Started time.Time
	// LoadAtStart is the machine's load average when the run started
	// (LoadAverage); other work on the machine shows in the figures.
	LoadAtStart string
	Rows        []Row
	Notes       []string  // paragraphs rendered below the table
	Log         io.Writer // progress lines
}

// LoadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "" where there is none.
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// Step prints a progress line before a long step, so a slow run shows
// where it is.
func (r *Report) Step(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, "  … "+format+"\n", args...)
	}
}

// Note adds a paragraph below the table, once.
func (r *Report) Note(s string) {
	if !slices.Contains(r.Notes, s) {
		r.Notes = append(r.Notes, s)
	}
}

// Add records a row and prints it as progress.
func (r *Report) Add(row Row) {
	r.Rows = append(r.Rows, row)
	if r.Log != nil {
		fmt.Fprintf(r.Log, "  %-60s %-13s %s\n", row.Measure, row.Engine, row.Value)
	}
}

// Markdown renders the report with the machine's description.
func (r *Report) Markdown(cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `%s` on %s: %d cores (GOMAXPROCS %d), %s/%s, %s.\n",
		cmd, r.Started.UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	b.WriteString("One run on a shared machine: compare ratios within this table, not across runs.")
	if end := LoadAverage(); r.LoadAtStart != "" && end != "" {
		fmt.Fprintf(&b, " Load average (1, 5, 15 min): %s at the start, %s at the end.", r.LoadAtStart, end)
	}
	b.WriteString("\n\n")
	b.WriteString("| measure | engine | result | target | note |\n|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.Measure, row.Engine, row.Value, row.Target, row.Note)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

// ErrRefused marks an expected refusal (a limited code used up): an op
// returning an error that wraps it is counted in Refused, not in Errors.
var ErrRefused = errors.New("refused, as expected")

// Latencies summarises a load run.
type Latencies struct {
	Ops      int64 // operations completed, refusals included
	Refused  int64 // expected refusals (ErrRefused)
	Errors   int64 // unexpected errors; Load stops at the first
	Err      error // the first unexpected error
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond is the throughput of the run.
func (l Latencies) PerSecond() float64 { return float64(l.Ops) / l.Elapsed.Seconds() }

func (l Latencies) String() string {
	return fmt.Sprintf("%.0f ops/s, p50 %s, p99 %s", l.PerSecond(), round(l.P50), round(l.P99))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d > time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// Load runs op from workers goroutines until total operations are done and
// records each one's latency. op gets a unique sequence number. An error
// wrapping ErrRefused is an expected refusal; any other error is counted in
// Errors, kept in Err (the first one), and stops the run: a broken path must
// fail the bench, not hide in a count.
func Load(ctx context.Context, workers int, total int64, op func(ctx context.Context, seq int64) error) Latencies {
	var next, errs, refused atomic.Int64
	var firstErr error
	var once sync.Once
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, total/int64(workers)+1)
			for {
				seq := next.Add(1) - 1
				if seq >= total || ctx.Err() != nil || errs.Load() > 0 {
					break
				}
				// Yield first, as a server goroutine does when it reads its
				// next request from the network: without it, 64 CPU-bound
				// workers on 2 cores each hold a core until preempted after
				// 10 ms, and whichever op was cut off records the others'
				// whole time slices as its own latency.
				runtime.Gosched()
				t0 := time.Now()
				err := op(ctx, seq)
				mine = append(mine, time.Since(t0))
				switch {
				case err == nil:
				case errors.Is(err, ErrRefused):
					refused.Add(1)
				default:
					once.Do(func() { firstErr = err })
					errs.Add(1)
				}
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
		errs.Add(1)
	}
	return Latencies{Ops: int64(len(all)), Refused: refused.Load(), Errors: errs.Load(), Err: firstErr,
		Elapsed: elapsed, P50: pct(all, 0.50), P99: pct(all, 0.99)}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}
