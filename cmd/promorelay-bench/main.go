// Command promorelay-bench runs the benchmarks and writes BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "promorelay-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, size int64) error {
	r := &bench.Report{Started: time.Now(), Log: os.Stderr}
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
	if err := bench.Store(ctx, r, "embedded", emb, size); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if err := emb.Close(); err != nil {
		return err
	}
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
	if err := bench.Store(ctx, r, "dynamo-local", dyn, size/10); err != nil {
		return fmt.Errorf("dynamo: %w", err)
	}
	if err := os.WriteFile(out, []byte(r.Markdown("make bench")), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}
