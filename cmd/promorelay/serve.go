package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/infra/config"
	"github.com/promorelay/promorelay/internal/app"
)

// Main is one running promorelay: its config, store and HTTP server. Tests
// build it the same way main does.
type Main struct {
	Config config.Config
	Logger *slog.Logger
	Store  core.Store
	App    *app.App

	// SweepEvery is how often the time-relative segment sweep runs in the
	// background (0: never; run "promorelay sweep" instead).
	SweepEvery time.Duration

	listener   net.Listener
	server     *http.Server
	stopSweeps context.CancelFunc
	sweeps     chan struct{}
}

// NewMain parses the serve flags and environment.
func NewMain(args []string, getenv func(string) string, logOut io.Writer) (*Main, error) {
	sweepEvery := 5 * time.Minute
	cfg, err := config.Load("promorelay serve", args, getenv, logOut, func(fs *flag.FlagSet) {
		fs.DurationVar(&sweepEvery, "sweep-every", sweepEvery, "how often to re-evaluate time-relative segment rules (0 disables)")
	})
	if errors.Is(err, flag.ErrHelp) {
		return nil, errUsage
	}
	if err != nil {
		return nil, err
	}
	return &Main{Config: cfg, Logger: cfg.Logger(logOut), SweepEvery: sweepEvery}, nil
}

// Open opens the store and starts listening; Addr is known afterwards.
func (m *Main) Open(ctx context.Context) error {
	store, err := m.Config.OpenStore(ctx, core.SystemClock{})
	if err != nil {
		return fmt.Errorf("open %s store: %w", m.Config.Store, err)
	}
	m.Store = store
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		_ = store.Close()
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	m.listener = ln
	m.App = app.New(store, core.SystemClock{})
	// Jobs a previous process left unfinished (a crash or a stop mid-job)
	// resume now: generation continues, interrupted imports are undone.
	stale := time.Duration(0)
	if m.Config.Store == config.EngineDynamo {
		stale = promo.JobStaleAfter // other processes may be running theirs
	}
	if n, err := m.App.Promo.ResumeJobs(ctx, stale); err != nil {
		m.Logger.Error("resuming unfinished jobs failed", "err", err)
	} else if n > 0 {
		m.Logger.Info("resumed unfinished jobs", "count", n)
	}
	m.App.Audience.Logger = m.Logger
	if n, err := m.App.Audience.ResumeBackfills(ctx); err != nil {
		m.Logger.Error("resuming segment backfills failed", "err", err)
	} else if n > 0 {
		m.Logger.Info("resumed segment backfills", "count", n)
	}
	m.App.Exports.Logger = m.Logger
	exportStale := time.Duration(0)
	if m.Config.Store == config.EngineDynamo {
		exportStale = export.StaleAfter
	}
	if n, err := m.App.Exports.Resume(ctx, exportStale); err != nil {
		m.Logger.Error("resuming unfinished exports failed", "err", err)
	} else if n > 0 {
		m.Logger.Info("resumed unfinished exports", "count", n)
	}
	m.startSweeps()
	m.server = &http.Server{
		Handler:           m.App.Handler(app.HTTPOptions{Engine: m.Config.Store, Logger: m.Logger, AdminToken: m.Config.AdminToken}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Serve opens, serves until ctx ends, then shuts down gracefully: in-flight
// requests finish (up to 20 s), then the store closes, so everything
// acknowledged is committed.
func (m *Main) Serve(ctx context.Context) error {
	if m.listener == nil {
		if err := m.Open(ctx); err != nil {
			return err
		}
	}
	m.Logger.Info("promorelay serving", "addr", "http://"+m.Addr(), "store", m.Config.Store, "data", m.dataLocation())
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(m.listener) }()
	select {
	case err := <-errc:
		_ = m.Store.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down")
	return m.Close()
}

// Close stops the server gracefully and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := m.server.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	if m.stopSweeps != nil {
		m.stopSweeps()
		<-m.sweeps
	}
	if m.App != nil {
		if err := m.App.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop jobs: %w", err))
		}
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if len(errs) == 0 {
		m.Logger.Info("stopped")
	}
	return errors.Join(errs...)
}

func (m *Main) dataLocation() string {
	if m.Config.Store == config.EngineDynamo {
		return "table " + m.Config.Dynamo.Table
	}
	return m.Config.DataDir
}

// startSweeps runs the segment sweep of every project every SweepEvery.
func (m *Main) startSweeps() {
	m.sweeps = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	m.stopSweeps = cancel
	go func() {
		defer close(m.sweeps)
		if m.SweepEvery <= 0 {
			return
		}
		t := time.NewTicker(m.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.sweepAll(ctx)
			}
		}
	}()
}

func (m *Main) sweepAll(ctx context.Context) {
	projects, err := m.App.Projects.List(ctx)
	if err != nil {
		m.Logger.Error("sweep: list projects", "err", err)
		return
	}
	for _, p := range projects {
		res, err := m.App.Audience.Sweep(ctx, p.ID, nil)
		if err != nil {
			m.Logger.Error("sweep", "project", p.Name, "err", err)
			continue
		}
		if res.Customers > 0 {
			m.Logger.Info("sweep", "project", p.Name, "customers", res.Customers, "entered", res.Entered, "left", res.Left)
		}
	}
}
