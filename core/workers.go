package core

import (
	"context"
	"sync"
)

// Workers is a group of background goroutines that stop together: Go
// starts one with the group's context, Close cancels that context, refuses
// new work and waits for the running goroutines. Safe for concurrent use.
// Job runners, segment backfills and exports each own one.
type Workers struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewWorkers returns an open group.
func NewWorkers() *Workers {
	ctx, cancel := context.WithCancel(context.Background())
	return &Workers{ctx: ctx, cancel: cancel}
}

// Go runs fn in a new goroutine of the group and reports true, or reports
// false when the group is closed. fn must return soon after its context
// ends.
func (w *Workers) Go(fn func(ctx context.Context)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		fn(w.ctx)
	}()
	return true
}

// Wait blocks until every goroutine started so far has returned. It must
// not race with Go calls that should be waited for (tests call it between
// steps).
func (w *Workers) Wait() { w.wg.Wait() }

// Close cancels the goroutines' context, refuses new ones and waits for the
// running ones to return.
func (w *Workers) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}
