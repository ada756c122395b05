package promo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/promorelay/promorelay/core"
)

// A validation session of type LOCK holds a use of each validated code (and
// the gift credits it would pay) for a while, so the redemption that follows
// cannot be refused for want of them. Holding works on the counters every
// redemption bounds: "used" (redemptions plus held uses, bounded by the
// code's quantity) and "available" (the gift balance not held). A lock is an
// item in the code's partition; it expires logically at its expiry, when the
// next validation or redemption of the code (or a release) gives its hold back.

// Session is Voucherify's validation session.
type Session struct {
	Key     string `json:"key,omitempty"`
	Type    string `json:"type,omitempty"` // LOCK
	TTL     int64  `json:"ttl,omitempty"`
	TTLUnit string `json:"ttl_unit,omitempty"`
}

// Counters of a code item beyond redeemed/balance/published.
const (
	numUsed          = "used"           // redemptions + uses held by sessions
	numLocked        = "locked"         // uses held by sessions
	numAvailable     = "available"      // gift balance not held by sessions
	numLockedCredits = "locked_credits" // gift credits held by sessions
)

var ttlUnits = map[string]time.Duration{
	"NANOSECONDS": time.Nanosecond, "MICROSECONDS": time.Microsecond, "MILLISECONDS": time.Millisecond,
	"SECONDS": time.Second, "MINUTES": time.Minute, "HOURS": time.Hour, "DAYS": 24 * time.Hour,
}

// maxSessionTTL bounds how long a use can be held.
const maxSessionTTL = 30 * 24 * time.Hour

func (ss Session) duration() (time.Duration, error) {
	if ss.Type != "" && ss.Type != "LOCK" {
		return 0, core.Errorf(core.CodeInvalid, "session.type %q: only LOCK is supported", ss.Type)
	}
	unit := ss.TTLUnit
	if unit == "" {
		unit = "DAYS"
	}
	u, ok := ttlUnits[unit]
	if !ok {
		return 0, core.Errorf(core.CodeInvalid, "session.ttl_unit %q is not one of DAYS, HOURS, MINUTES, SECONDS, MILLISECONDS, MICROSECONDS, NANOSECONDS", ss.TTLUnit)
	}
	ttl := ss.TTL
	if ttl == 0 {
		ttl = 7 // Voucherify's default lock: 7 days
		u = 24 * time.Hour
	}
	d := time.Duration(ttl) * u
	if ttl < 0 || d <= 0 || d > maxSessionTTL {
		return 0, core.Errorf(core.CodeInvalid, "session ttl must be positive and at most 30 days")
	}
	return d, nil
}

// lock is the stored hold of one code by one session.
type lock struct {
	Key       string    `json:"key"`
	Credits   int64     `json:"credits,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	item      core.Item
}

func lockKey(p, code, key string) core.Key {
	return core.Key{PK: voucherKey(p, code).PK, SK: "sess#" + key}
}

// loadLocks reads the session's locks on the stack's codes (missing or
// expired ones are absent).
func (s *Service) loadLocks(ctx context.Context, p string, in StackInput, now time.Time) (map[string]*lock, error) {
	out := map[string]*lock{}
	if in.Session == nil || in.Session.Key == "" {
		return out, nil
	}
	keys := make([]core.Key, 0, len(in.Redeemables))
	for _, r := range in.Redeemables {
		if ValidateCode(r.ID) == nil {
			keys = append(keys, lockKey(p, r.ID, in.Session.Key))
		}
	}
	if err := core.ValidateKeys(keys); err != nil {
		return nil, core.Errorf(core.CodeInvalid, "session.key: %s", core.ErrorMessage(err))
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i, r := range in.Redeemables {
		if i >= len(keys) {
			break
		}
		it, ok := items[lockKey(p, r.ID, in.Session.Key)]
		if !ok {
			continue
		}
		var l lock
		if err := json.Unmarshal(it.Data, &l); err != nil {
			return nil, err
		}
		if l.ExpiresAt.After(now) {
			l.item = it
			out[r.ID] = &l
		}
	}
	return out, nil
}

// releaseOps give a lock's hold back to its code.
func releaseOps(p, code string, l lock) []core.Op {
	adds := []core.Add{core.AddBy(numUsed, -1), core.AddBy(numLocked, -1)}
	if l.Credits > 0 {
		adds = append(adds, core.AddBy(numAvailable, l.Credits), core.AddBy(numLockedCredits, -l.Credits))
	}
	return []core.Op{
		core.Delete(l.item.Key, core.IfVersion(l.item.Version)),
		core.UpdateOp(core.Update{Key: voucherKey(p, code), Adds: adds, Conds: []core.Cond{core.IfExists()}}),
	}
}

// releaseExpired gives back the holds of the code's expired locks; it runs
// before a code is evaluated when the code shows held uses or credits.
func (s *Service) releaseExpired(ctx context.Context, p, code string, now time.Time) (bool, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: voucherKey(p, code).PK, Prefix: "sess#", Limit: 100})
	if err != nil {
		return false, err
	}
	released := false
	for _, it := range pg.Items {
		var l lock
		if err := json.Unmarshal(it.Data, &l); err != nil {
			return released, err
		}
		if l.ExpiresAt.After(now) {
			continue
		}
		l.item = it
		err := s.write(ctx, releaseOps(p, code, l)...)
		if err != nil && !errors.Is(err, core.ErrConditionFailed) { // released concurrently: fine
			return released, err
		}
		released = true
	}
	return released, nil
}

// lockOps hold, for the session, a use of every code of a valid evaluation
// and the gift credits it pays; a lock the session already has is renewed
// with the new credits.
func (s *Service) lockOps(p string, ev *evaluation, ss Session, now time.Time) ([]core.Op, error) {
	ttl, err := ss.duration()
	if err != nil {
		return nil, err
	}
	exp := now.Add(ttl)
	var ops []core.Op
	for _, e := range ev.items {
		v := e.st.v
		credits := int64(0)
		if v.Type == TypeGift {
			credits = e.amount
		}
		data, err := json.Marshal(lock{Key: ss.Key, Credits: credits, ExpiresAt: exp})
		if err != nil {
			return nil, err
		}
		// No time-to-live on the item: its hold must be given back before it
		// goes, and a TTL deletion (DynamoDB's happens on its own schedule)
		// would leak the hold. The next validation or redemption of the code,
		// or a release, gives back an expired hold and deletes the item.
		item := core.Item{Key: lockKey(p, v.Code, ss.Key), Version: 1, Data: data}
		u := core.Update{Key: e.st.item.Key}
		if old := e.lock; old != nil {
			item.Version = old.item.Version + 1
			ops = append(ops, core.Put(item, core.IfVersion(old.item.Version)))
			if d := credits - old.Credits; d != 0 {
				u.Adds = append(u.Adds, core.AddDownTo(numAvailable, -d, 0), core.AddBy(numLockedCredits, d))
			}
		} else {
			ops = append(ops, core.Put(item, core.IfNotExists()))
			u.Adds = append(u.Adds, usedAdd(v), core.AddBy(numLocked, 1))
			if credits > 0 {
				u.Adds = append(u.Adds, core.AddDownTo(numAvailable, -credits, 0), core.AddBy(numLockedCredits, credits))
			}
		}
		if len(u.Adds) > 0 {
			ops = append(ops, core.UpdateOp(u))
		}
	}
	return ops, nil
}

// usedAdd takes one use of v, bounded by its quantity.
func usedAdd(v Voucher) core.Add {
	if q := v.Redemption.Quantity; q != nil {
		return core.AddUpTo(numUsed, 1, *q)
	}
	return core.AddBy(numUsed, 1)
}

// ReleaseSession gives back the use (and credits) a session holds on a code:
// DELETE /v1/vouchers/{code}/sessions/{sessionKey}.
func (s *Service) ReleaseSession(ctx context.Context, p, code, key string) error {
	it, err := s.Store.Get(ctx, lockKey(p, code, key))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return core.Errorf(core.CodeNotFound, "cannot find session %s on voucher %s", key, code)
	}
	if err != nil {
		return err
	}
	var l lock
	if err := json.Unmarshal(it.Data, &l); err != nil {
		return err
	}
	l.item = it
	if err := s.write(ctx, releaseOps(p, code, l)...); err != nil {
		if errors.Is(err, core.ErrConditionFailed) {
			return core.Errorf(core.CodeNotFound, "session %s on voucher %s was released meanwhile", key, code)
		}
		return fmt.Errorf("release session: %w", err)
	}
	return nil
}
