package audience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// A backfill brings existing customers into a new auto-update segment. It
// walks the customer list shard by shard, re-evaluating each customer (the
// same idempotent step the sweep uses), and checkpoints its position in
// p#segbf#<segment> / b after every page and when it is stopped, so a
// backfill interrupted by a restart continues after the last customer it
// evaluated (ResumeBackfills). After a hard crash the customers evaluated
// since the last checkpoint are evaluated again: memberships stay exact,
// the Entered count may then miss those the lost stretch brought in. Active backfills are
// listed in segbf#active / <project>#<segment>.

const activeBackfills = "segbf#active"

func backfillKey(p, seg string) core.Key { return core.Key{PK: p + "#segbf#" + seg, SK: "b"} }
func activeBackfillKey(p, seg string) core.Key {
	return core.Key{PK: activeBackfills, SK: p + "#" + seg}
}

// backfillRecord is a backfill's checkpoint.
type backfillRecord struct {
	Backfill
	Shard int `json:"shard"`
	// After is the last customer of Shard evaluated: a resumed backfill
	// starts after it, so no customer is counted twice.
	After     string    `json:"after,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// Backfills runs backfills in the background. Close stops them; the
// checkpoints let the next process resume them.
type Backfills struct {
	workers *core.Workers
	// Observe, when set, sees every checkpoint (tests, CLI progress).
	Observe func(p, seg string, b Backfill)
}

// NewBackfills returns a runner for background backfills.
func NewBackfills() *Backfills { return &Backfills{workers: core.NewWorkers()} }

func (b *Backfills) start(fn func(ctx context.Context)) bool { return b.workers.Go(fn) }

// Wait blocks until the running backfills finish. A nil runner has none.
func (b *Backfills) Wait() {
	if b != nil {
		b.workers.Wait()
	}
}

// Close cancels the running backfills and waits for them. A nil runner
// has nothing to close.
func (b *Backfills) Close() error {
	if b != nil {
		b.workers.Close()
	}
	return nil
}

// startBackfill records a backfill for seg and starts it in the background
// (or runs it now when the service has no runner).
func (s *Service) startBackfill(ctx context.Context, p, seg string) (*Backfill, error) {
	rec := backfillRecord{Backfill: Backfill{Status: SyncInProgress}, StartedAt: s.now()}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	// A backfill started again (the segment's filter changed) supersedes a
	// running one: the new record's version is above every version the
	// running one checkpoints against, so that one stops at its next
	// checkpoint.
	version := int64(1)
	if it, err := s.Store.Get(ctx, backfillKey(p, seg)); err == nil {
		version = it.Version + 1
	} else if !errors.Is(err, core.ErrNotFound) {
		return nil, err
	}
	err = s.Store.Write(ctx,
		core.Put(core.Item{Key: backfillKey(p, seg), Version: version, Data: data}),
		core.Put(core.Item{Key: activeBackfillKey(p, seg), Version: 1}))
	if err != nil {
		return nil, err
	}
	if s.Backfills == nil {
		run := ctx
		if s.InlineBackfillFor > 0 {
			var cancel context.CancelFunc
			run, cancel = context.WithTimeout(ctx, s.InlineBackfillFor)
			defer cancel()
		}
		err := s.RunBackfill(run, p, seg, nil)
		if err != nil && !(errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil) {
			return nil, err
		}
		// Out of time: the checkpoint stays IN_PROGRESS for ResumeBackfills
		// or "promorelay backfill" to finish.
		return s.backfillState(ctx, p, seg)
	}
	s.Backfills.start(func(ctx context.Context) {
		if err := s.RunBackfill(ctx, p, seg, nil); err != nil && !errors.Is(err, context.Canceled) && s.Logger != nil {
			s.Logger.Error("segment backfill", "project", p, "segment", seg, "err", err)
		}
	})
	return &rec.Backfill, nil
}

// ResumeBackfills continues the backfills a stopped process left unfinished.
func (s *Service) ResumeBackfills(ctx context.Context) (int, error) {
	n := 0
	err := core.Each(ctx, s.Store, core.Query{PK: activeBackfills, Limit: 100}, func(it core.Item) error {
		p, seg, ok := strings.Cut(it.SK, "#")
		if !ok {
			return nil
		}
		n++
		if s.Backfills == nil || !s.Backfills.start(func(ctx context.Context) {
			if err := s.RunBackfill(ctx, p, seg, nil); err != nil && !errors.Is(err, context.Canceled) && s.Logger != nil {
				s.Logger.Error("resume segment backfill", "project", p, "segment", seg, "err", err)
			}
		}) {
			return fmt.Errorf("backfills are not running")
		}
		return nil
	})
	return n, err
}

// RunBackfill runs (or continues) seg's backfill in the caller's goroutine
// until it is done or ctx ends; progress, when set, sees each checkpoint.
func (s *Service) RunBackfill(ctx context.Context, p, seg string, progress func(Backfill)) error {
	it, err := s.Store.Get(ctx, backfillKey(p, seg))
	if err != nil {
		return fmt.Errorf("backfill %s: %w", seg, err)
	}
	var rec backfillRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return err
	}
	version := it.Version
	save := func(ctx context.Context, extra ...core.Op) error {
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		ops := append([]core.Op{core.Put(core.Item{Key: backfillKey(p, seg), Version: version + 1, Data: data}, core.IfVersion(version))}, extra...)
		if err := s.Store.Write(ctx, ops...); err != nil {
			if errors.Is(err, core.ErrConditionFailed) {
				return errSuperseded
			}
			return fmt.Errorf("checkpoint backfill %s: %w", seg, err)
		}
		version++
		if progress != nil {
			progress(rec.Backfill)
		}
		if s.Backfills != nil && s.Backfills.Observe != nil {
			s.Backfills.Observe(p, seg, rec.Backfill)
		}
		return nil
	}
	for rec.Status != SyncDone {
		if _, err := s.GetSegment(ctx, p, seg); errors.Is(err, core.ErrNotFound) {
			return s.Store.Write(ctx, core.Delete(backfillKey(p, seg)), core.Delete(activeBackfillKey(p, seg)))
		}
		q := core.Query{PK: customer.IndexPartition(p, rec.Shard), Limit: 100}
		if rec.After != "" {
			q.From = rec.After + "\x00" // the first key after it
		}
		pg, err := s.Store.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, c := range pg.Items {
			out, err := s.Reevaluate(ctx, p, c.SK)
			switch {
			case err == nil:
				rec.Processed++
				if slices.Contains(out.Entered, seg) {
					rec.Entered++
				}
				if slices.Contains(out.Left, seg) {
					rec.Left++
				}
				rec.After = c.SK
			case errors.Is(err, core.ErrNotFound) && ctx.Err() == nil:
				rec.After = c.SK // deleted or merged away since it was listed
			case ctx.Err() == nil:
				return err
			}
			if ctx.Err() != nil {
				// Stopping: keep what was done, so the resumed run neither
				// repeats nor misses a customer's count.
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := save(sctx); err != nil && !errors.Is(err, errSuperseded) {
					return errors.Join(ctx.Err(), err)
				}
				return ctx.Err()
			}
		}
		if pg.Next == "" {
			rec.Shard, rec.After = rec.Shard+1, ""
		}
		rec.Progress = rec.Shard * 100 / customer.IndexShards
		var extra []core.Op
		if rec.Shard >= customer.IndexShards {
			rec.Status = SyncDone
			now := s.now()
			rec.FinishedAt = &now
			extra = append(extra, core.Delete(activeBackfillKey(p, seg)))
		}
		if err := save(ctx, extra...); errors.Is(err, errSuperseded) {
			return nil // a newer run of this backfill goes on
		} else if err != nil {
			return err
		}
	}
	return nil
}

// errSuperseded stops a backfill run whose checkpoint was replaced by a
// newer run's.
var errSuperseded = errors.New("backfill superseded")

// backfillState returns seg's backfill progress, nil when it has none.
func (s *Service) backfillState(ctx context.Context, p, seg string) (*Backfill, error) {
	it, err := s.Store.Get(ctx, backfillKey(p, seg))
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec backfillRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return nil, err
	}
	return &rec.Backfill, nil
}
