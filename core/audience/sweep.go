package audience

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Time-relative rules ("no order in the last 30 days") change their result
// with no new data. Every change of a customer computes when that can next
// happen (segment.Filter.NextChange) and files the customer under that
// hour: p#due#<yyyymmddhh> / <customer>. The sweep reads only the hours
// that have come, so it touches only customers whose result can have
// changed, and keeps a watermark (p#sweep / w) of the hours it finished.

func dueKey(p string, t time.Time, cust string) core.Key {
	return core.Key{PK: p + "#due#" + t.UTC().Format("2006010215"), SK: cust}
}

func sweepKey(p string) core.Key { return core.Key{PK: p + "#sweep", SK: "w"} }

// setDue files c under its next due time (nothing when unchanged).
func (u *unit) setDue(c *custState, due time.Time) {
	cur := c.prof.DueAt
	if cur == nil && due.IsZero() || cur != nil && cur.Equal(due) {
		return
	}
	if cur != nil {
		u.ops = append(u.ops, core.Delete(dueKey(u.p, *cur, c.prof.ID)))
	}
	if due.IsZero() {
		c.prof.DueAt = nil
	} else {
		due = due.UTC()
		c.prof.DueAt = &due
		u.ops = append(u.ops, core.Put(core.Item{Key: dueKey(u.p, due, c.prof.ID), Version: 1,
			Data: []byte(strconv.FormatInt(due.UnixNano(), 10))}))
	}
	c.dirty = true
}

// startSweeps records, once per project, the hour sweeps start from: no
// customer can be due before the project's first auto-update segment.
func (s *Service) startSweeps(ctx context.Context, p string) error {
	err := s.Store.Write(ctx, core.Put(core.Item{Key: sweepKey(p), Version: 1,
		Data: []byte(s.now().Truncate(time.Hour).Format(time.RFC3339))}, core.IfNotExists()))
	if errors.Is(err, core.ErrConditionFailed) {
		return nil
	}
	return err
}

// SweepResult says what a sweep did.
type SweepResult struct {
	Hours     int   `json:"hours"`
	Customers int64 `json:"customers"`
	Entered   int64 `json:"entered"`
	Left      int64 `json:"left"`
}

// Sweep re-evaluates the customers of project p whose time-relative rules
// may have changed by now. progress, when set, is called after each hour.
func (s *Service) Sweep(ctx context.Context, p string, progress func(hour time.Time, r SweepResult)) (SweepResult, error) {
	var res SweepResult
	it, err := s.Store.Get(ctx, sweepKey(p))
	if errors.Is(err, core.ErrNotFound) {
		return res, nil // nothing was ever due
	}
	if err != nil {
		return res, err
	}
	from, err := time.Parse(time.RFC3339, string(it.Data))
	if err != nil {
		return res, err
	}
	now := s.now()
	h := from
	for ; !h.After(now); h = h.Add(time.Hour) {
		if err := s.sweepHour(ctx, p, h, now, &res); err != nil {
			return res, err
		}
		res.Hours++
		if progress != nil {
			progress(h, res)
		}
	}
	// Every hour before now's is over: later sweeps start at now's hour. A
	// concurrent sweep that moved the watermark first covers the same hours.
	done := now.Truncate(time.Hour)
	if done.After(from) {
		err := s.Store.Write(ctx, core.Put(core.Item{Key: sweepKey(p), Version: it.Version + 1,
			Data: []byte(done.Format(time.RFC3339))}, core.IfVersion(it.Version)))
		if err != nil && !errors.Is(err, core.ErrConditionFailed) {
			return res, err
		}
	}
	return res, nil
}

func (s *Service) sweepHour(ctx context.Context, p string, h, now time.Time, res *SweepResult) error {
	return core.Each(ctx, s.Store, core.Query{PK: dueKey(p, h, "").PK, Limit: 100}, func(it core.Item) error {
		at, _ := strconv.ParseInt(string(it.Data), 10, 64)
		if time.Unix(0, at).After(now) {
			return nil
		}
		out, err := s.Reevaluate(ctx, p, it.SK)
		if errors.Is(err, core.ErrNotFound) {
			return s.Store.Write(ctx, core.Delete(it.Key))
		}
		if err != nil {
			return err
		}
		res.Customers++
		res.Entered += int64(len(out.Entered))
		res.Left += int64(len(out.Left))
		return nil
	})
}

// Reevaluate recomputes one customer's auto-update memberships now.
func (s *Service) Reevaluate(ctx context.Context, p, custID string) (Outcome, error) {
	u, err := s.onCustomer(ctx, p, custID, func(*unit, *custState) error { return nil })
	if err != nil {
		return Outcome{}, err
	}
	return u.out, nil
}
