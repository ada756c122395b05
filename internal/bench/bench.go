// Package bench measures promorelay and writes the results as a Markdown
// table. Figures come from counted work (operations completed, capacity units
// DynamoDB reported), never from estimates. Compare ratios within one run:
// machines are shared and noisy.
package bench

import (
	"context"
	"fmt"
	"io"
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
	Rows    []Row
	Log     io.Writer // progress lines
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
	b.WriteString("One run on a shared machine: compare ratios within this table, not across runs.\n\n")
	b.WriteString("| measure | engine | result | target | note |\n|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.Measure, row.Engine, row.Value, row.Target, row.Note)
	}
	return b.String()
}

// Latencies summarises a load run.
type Latencies struct {
	Ops      int64
	Errors   int64
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
// records each one's latency. op gets a unique sequence number. Errors are
// counted, not fatal; an op returning a non-nil error counts as an error.
func Load(ctx context.Context, workers int, total int64, op func(ctx context.Context, seq int64) error) Latencies {
	var next, errs atomic.Int64
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
				if seq >= total || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				if err := op(ctx, seq); err != nil {
					errs.Add(1)
				}
				mine = append(mine, time.Since(t0))
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	return Latencies{Ops: int64(len(all)), Errors: errs.Load(), Elapsed: elapsed, P50: pct(all, 0.50), P99: pct(all, 0.99)}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}
