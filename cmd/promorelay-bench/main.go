// Command promorelay-bench runs the benchmarks and writes BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/infra/embedded"
	"github.com/promorelay/promorelay/internal/bench"
	"github.com/promorelay/promorelay/internal/dynamolocal"
)

func main() {
	out := flag.String("out", "BENCHMARKS.md", "where to write the table")
	size := flag.Int64("size", 20000, "operations per measurement")
	engines := flag.String("engines", "embedded,dynamo", "comma-separated engines to measure (embedded, dynamo)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Int64Var(&ingest.Customers, "customers", 1_000_000, "customers in the end-to-end ingest run (embedded)")
	flag.Int64Var(&ingest.TracksPer, "tracks-per-customer", 1, "track calls per customer in the ingest run")
	flag.Int64Var(&ingest.Batch, "ingest-batch", 10, "messages per /v1/batch request in the ingest run")
	flag.Int64Var(&ingest.PerKind, "ingest-per-kind", 200, "operations per inbound event kind for the DynamoDB cost runs")
	skip := flag.String("skip", "", "comma-separated parts to skip: store, promo, ingest")
	flag.Parse()
	skipped = strings.Split(*skip, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := profiled(*cpuProfile, func() error { return run(ctx, *out, *size, strings.Split(*engines, ",")) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "promorelay-bench:", err)
		os.Exit(1)
	}
}

// ingest scales the ingest runs; skipped names parts not to run.
var (
	ingest  bench.IngestConfig
	skipped []string
)

func runs(part string) bool { return !slices.Contains(skipped, part) }

func run(ctx context.Context, out string, size int64, engines []string) error {
	r := &bench.Report{Started: time.Now(), LoadAtStart: bench.LoadAverage(), Log: os.Stderr}
	for _, e := range engines {
		if e != "embedded" && e != "dynamo" {
			return fmt.Errorf("unknown engine %q: want embedded or dynamo", e)
		}
	}
	if slices.Contains(engines, "embedded") {
		if err := onEmbedded(ctx, r, size); err != nil {
			return err
		}
	}
	if slices.Contains(engines, "dynamo") {
		if err := onDynamo(ctx, r, size); err != nil {
			return err
		}
	}
	if err := os.WriteFile(out, []byte(r.Markdown("make bench")), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}

// onEmbedded measures the storage port, then the promotion engine on a
// fresh store, at the service and over HTTP, against the design targets.
func onEmbedded(ctx context.Context, r *bench.Report, size int64) error {
	dir, err := os.MkdirTemp("", "promorelay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "embedded engine (bbolt, fsync on every commit):")
	emb, err := embedded.Open(embedded.Config{Dir: dir})
	if err != nil {
		return err
	}
	if runs("store") {
		if err := bench.Store(ctx, r, "embedded", emb, size); err != nil {
			return fmt.Errorf("embedded: %w", err)
		}
	}
	if err := emb.Close(); err != nil {
		return err
	}
	if runs("promo") {
		fmt.Fprintln(os.Stderr, "promotion engine on the embedded engine (fresh store):")
		s, err := embedded.Open(embedded.Config{Dir: filepath.Join(dir, "promo")})
		if err != nil {
			return err
		}
		err = bench.Promo(ctx, r, s, bench.PromoConfig{Engine: "embedded", Size: size, HTTP: true, Target: true})
		if err = errors.Join(err, s.Close()); err != nil {
			return fmt.Errorf("embedded promo: %w", err)
		}
	}
	if runs("ingest") {
		fmt.Fprintln(os.Stderr, "ingest on the embedded engine (fresh store):")
		s, err := embedded.Open(embedded.Config{Dir: filepath.Join(dir, "ingest")})
		if err != nil {
			return err
		}
		cfg := ingest
		cfg.Engine = "embedded"
		if err = errors.Join(bench.Ingest(ctx, r, s, cfg), s.Close()); err != nil {
			return fmt.Errorf("embedded ingest: %w", err)
		}
	}
	return nil
}

// onDynamo measures the storage port and the promotion engine on DynamoDB
// Local, with fewer operations: the emulator is two orders of magnitude
// slower, and its latencies say little about AWS's, while the capacity
// units it reports follow DynamoDB's rules.
func onDynamo(ctx context.Context, r *bench.Report, size int64) error {
	fmt.Fprintln(os.Stderr, "starting DynamoDB Local…")
	srv, err := dynamolocal.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(os.Stderr, "DynamoDB Local (latency is the emulator's, not AWS's; capacity units are DynamoDB's rules):")
	dyn, err := dynamo.New(ctx, dynamo.Config{Table: "bench", Endpoint: srv.Endpoint(), CreateTable: true, Clock: core.SystemClock{}})
	if err != nil {
		return err
	}
	if runs("store") {
		if err := bench.Store(ctx, r, "dynamo-local", dyn, size/10); err != nil {
			return fmt.Errorf("dynamo: %w", err)
		}
	}
	if runs("ingest") {
		fmt.Fprintln(os.Stderr, "ingest costs on DynamoDB Local (fresh table):")
		t, err := dynamo.New(ctx, dynamo.Config{Table: "bench-ingest", Endpoint: srv.Endpoint(), CreateTable: true, Clock: core.SystemClock{}})
		if err != nil {
			return err
		}
		cfg := ingest
		cfg.Engine = "dynamo-local"
		if err := bench.IngestCosts(ctx, r, t, cfg); err != nil {
			return fmt.Errorf("dynamo ingest: %w", err)
		}
	}
	if !runs("promo") {
		return nil
	}
	fmt.Fprintln(os.Stderr, "promotion engine on DynamoDB Local (fresh table):")
	promoTable, err := dynamo.New(ctx, dynamo.Config{Table: "bench-promo", Endpoint: srv.Endpoint(), CreateTable: true, Clock: core.SystemClock{}})
	if err != nil {
		return err
	}
	// A redemption is a transaction of about ten items, which the emulator
	// runs at 20-200 a second on 2 cores: its runs are a fortieth of the
	// embedded ones (the capacity units per operation are exact from the
	// first, the latencies are the emulator's anyway).
	if err := bench.Promo(ctx, r, promoTable, bench.PromoConfig{Engine: "dynamo-local", Size: size / 40}); err != nil {
		return fmt.Errorf("dynamo promo: %w", err)
	}
	return nil
}

// profiled runs fn under the CPU profiler when file is set.
func profiled(file string, fn func() error) error {
	if file == "" {
		return fn()
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return errors.Join(err, f.Close())
	}
	err = fn()
	pprof.StopCPUProfile()
	return errors.Join(err, f.Close())
}
