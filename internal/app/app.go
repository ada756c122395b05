// Package app wires promorelay's services onto one store. The local binary,
// the Lambda functions and the end-to-end tests all build it the same way.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/infra/httpapi"
)

// App is one set of services over one store.
type App struct {
	Store     core.Store
	Clock     core.Clock
	IDs       *core.IDs
	Projects  *project.Service
	Customers *customer.Resolver
	Promo     *promo.Service
	Audience  *audience.Service
	Exports   *export.Service

	stopFlusher context.CancelFunc
	flusherDone chan error
}

// New builds the services on store.
func New(store core.Store, clock core.Clock) *App {
	if clock == nil {
		clock = core.SystemClock{}
	}
	ids := core.NewIDs(clock, nil)
	customers := &customer.Resolver{Store: store, Clock: clock, IDs: ids}
	a := &App{
		Store: store, Clock: clock, IDs: ids,
		Projects:  &project.Service{Store: store, Clock: clock, IDs: ids},
		Customers: customers,
		Promo:     &promo.Service{Store: store, Clock: clock, IDs: ids, Customers: customers, Jobs: promo.NewJobRunner()},
		Audience:  &audience.Service{Store: store, Clock: clock, IDs: ids, Backfills: audience.NewBackfills()},
	}
	a.Exports = &export.Service{Store: store, Clock: clock, IDs: ids, Workers: core.NewWorkers(),
		Sources: map[string]export.Source{"order": a.Audience.OrderExport()}}
	// Event schema observations are written every SchemaFlushEvery, also
	// when no further event arrives to trigger the write.
	ctx, cancel := context.WithCancel(context.Background())
	a.stopFlusher, a.flusherDone = cancel, make(chan error, 1)
	go func() {
		t := time.NewTicker(audience.SchemaFlushEvery)
		defer t.Stop()
		a.flusherDone <- a.Audience.RunSchemaFlusher(ctx, t.C)
	}()
	return a
}

// Close stops the background jobs (unfinished ones stay IN_PROGRESS and are
// resumed by the next process, see ResumeJobs) and writes the pending event
// schema observations. Call it once.
func (a *App) Close() error {
	err := errors.Join(a.Promo.Jobs.Close(), a.Audience.Backfills.Close())
	if a.Exports.Workers != nil {
		a.Exports.Workers.Close()
	}
	a.stopFlusher()
	return errors.Join(err, <-a.flusherDone) // the flusher flushes once more as it stops
}

// HTTPOptions are the HTTP adapter's settings that are not services.
type HTTPOptions struct {
	Engine     string
	Logger     *slog.Logger
	AdminToken string
}

// Handler returns the HTTP handler tree over the app's services.
func (a *App) Handler(o HTTPOptions) http.Handler {
	return httpapi.New(httpapi.Options{
		Store: a.Store, Engine: o.Engine, Logger: o.Logger, Clock: a.Clock,
		Projects: a.Projects, Promo: a.Promo, Audience: a.Audience, Exports: a.Exports, AdminToken: o.AdminToken,
	})
}
