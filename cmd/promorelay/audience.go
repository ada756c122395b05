package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/infra/config"
	"github.com/promorelay/promorelay/internal/app"
)

// openApp opens the store named by the command's flags and builds the app
// on it. On the embedded engine the server must not be running (the data
// file is locked).
func openApp(ctx context.Context, cmd string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*app.App, func(), error) {
	cfg, err := config.Load("promorelay "+cmd, args, getenv, stderr, extra)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil, errUsage
	}
	if err != nil {
		return nil, nil, err
	}
	store, err := cfg.OpenStore(ctx, core.SystemClock{})
	if err != nil {
		return nil, nil, fmt.Errorf("open %s store (is promorelay serve running on the same data?): %w", cfg.Store, err)
	}
	a := app.New(store, core.SystemClock{})
	a.Audience.Backfills = nil // commands run their work in the foreground
	return a, func() { _ = a.Close(); _ = store.Close() }, nil
}

// sweepCommand is "promorelay sweep": it re-evaluates the customers whose
// time-relative segment rules may have changed, in every project or one.
func sweepCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name string
	a, done, err := openApp(ctx, "sweep", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "project", "", "project name (default: every project)")
	})
	if err != nil {
		return err
	}
	defer done()
	projects, err := a.Projects.List(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, p := range projects {
		if name != "" && p.Name != name {
			continue
		}
		found = true
		start := time.Now()
		res, err := a.Audience.Sweep(ctx, p.ID, func(hour time.Time, r audience.SweepResult) {
			if r.Customers > 0 {
				fmt.Fprintf(stdout, "sweep %s: hour %s done, %d customers re-evaluated so far\n", p.Name, hour.Format("2006-01-02 15:00"), r.Customers)
			}
		})
		if err != nil {
			return fmt.Errorf("sweep %s: %w", p.Name, err)
		}
		fmt.Fprintf(stdout, "sweep %s: %d hours, %d customers re-evaluated, %d entered, %d left (%s)\n",
			p.Name, res.Hours, res.Customers, res.Entered, res.Left, time.Since(start).Round(time.Millisecond))
	}
	if name != "" && !found {
		return fmt.Errorf("sweep: no project named %q", name)
	}
	return nil
}

// backfillCommand is "promorelay backfill": it runs (or continues) a
// segment's backfill in the foreground, printing its progress.
func backfillCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name, seg string
	a, done, err := openApp(ctx, "backfill", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "project", "", "project name")
		fs.StringVar(&seg, "segment", "", "segment id")
	})
	if err != nil {
		return err
	}
	defer done()
	if name == "" || seg == "" {
		return errors.New("backfill: --project and --segment are required")
	}
	p, err := a.Projects.ByName(ctx, name)
	if err != nil {
		return err
	}
	last := -1
	err = a.Audience.RunBackfill(ctx, p.ID, seg, func(b audience.Backfill) {
		if b.Progress != last {
			last = b.Progress
			fmt.Fprintf(stdout, "backfill %s: %3d%% (%d customers evaluated, %d entered, %d left)\n", seg, b.Progress, b.Processed, b.Entered, b.Left)
		}
	})
	if err != nil {
		return err
	}
	b, err := a.Audience.GetSegment(ctx, p.ID, seg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backfill %s: %s, %d customers evaluated, %d entered, %d left\n", seg, b.InitialSyncStatus, b.Backfill.Processed, b.Backfill.Entered, b.Backfill.Left)
	return nil
}
