// Package audience applies what customers do — Segment calls, shop orders,
// custom events — to their profiles, and keeps real-time segment
// memberships: every change of a customer, the membership changes it causes
// and their customer.segment.entered/left events commit in one store
// transaction.
//
// Storage (project p, customer c):
//
//	p#seen#<source>:<id> / m        inbound message seen (dedupe, 8 days TTL)
//	p#cust#c / profile              the profile (customer.Profile)
//	p#cust#c / ev#<name>            one event name's counters and recent occurrences
//	p#cust#c / tl#<ulid>            activity timeline entry (TTL)
//	p#cust<kind>#<value> / c        identity → customer id (src, anon, email)
//	p#custs#NN / c                  list of customers (16 shards)
//	p#order#<source id> / o         an order and what it added to the aggregates
//	p#seg#<id> / s, p#segs / <id>   segment definitions and their list
//	p#segdefs / auto                every auto-update segment's filter (read per change)
//	p#segm#<segment> / c            membership
//	p#due#<yyyymmddhh> / c          customers whose time-relative rules may flip in that hour
//	p#schema / e#<name>             event schema registry
//
// Cost. A plain track call (no segment change) writes its seen record and
// its event counter item in one transaction, plus a version check of the
// profile when the project has auto-update segments (so a concurrent change
// elsewhere cannot make the memberships stale); a duplicate only reads.
package audience

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/promorelay/promorelay/core"
)

// SeenTTL is how long an inbound message id is remembered: Segment,
// Shopify and WooCommerce retry for far less; the issue asks for 7 days.
const SeenTTL = 8 * 24 * time.Hour

// TimelineTTL is how long activity timeline entries live.
const TimelineTTL = 90 * 24 * time.Hour

// maxAttempts bounds the retries of one message whose items changed under
// it (another process wrote the same customer).
const maxAttempts = 64

// Service is the ingest and segments service. Safe for concurrent use.
type Service struct {
	Store core.Store
	Clock core.Clock
	IDs   *core.IDs
	// Logger receives background failures (schema flushes, backfills).
	Logger *slog.Logger
	// Backfills runs segment backfills in the background; nil runs them
	// within the request that creates the segment.
	Backfills *Backfills
	// InlineBackfillFor, when Backfills is nil, bounds the time a request
	// spends backfilling a new segment (0: until done); what is left stays
	// checkpointed for ResumeBackfills. Lambda sets it, having no
	// background goroutines that outlive a response.
	InlineBackfillFor time.Duration

	locks  [256]sync.Mutex
	defs   defsCache
	schema schemaRegistry
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

// lock serialises the work on one identity within this process, so that
// concurrent events for one customer queue instead of racing on its items'
// versions (other processes are handled by the version conditions).
func (s *Service) lock(identity string) func() {
	h := fnv.New32a()
	h.Write([]byte(identity))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

func seenKey(p, source, id string) core.Key {
	return core.Key{PK: p + "#seen#" + source + ":" + id, SK: "m"}
}

// retryable reports whether a failed transaction may succeed when rebuilt
// from fresh reads: another writer changed an item it depended on.
func retryable(err error) bool {
	return errors.Is(err, core.ErrConditionFailed) || errors.Is(err, core.ErrConflict)
}

// backoff sleeps a jittered delay growing with attempt (1 ms … 100 ms).
func backoff(ctx context.Context, attempt int) error {
	return core.Backoff(ctx, attempt, time.Millisecond, 100*time.Millisecond)
}

// run builds and commits one unit of work, rebuilding it from fresh reads
// while another writer wins the race for its items. build returns the
// unit; a nil unit means there is nothing to write.
func (s *Service) run(ctx context.Context, build func() (*unit, error)) (*unit, error) {
	for attempt := 0; ; attempt++ {
		u, err := build()
		if err != nil || u == nil {
			return u, err
		}
		err = u.commit(ctx)
		if err == nil {
			return u, nil
		}
		if !retryable(err) || attempt+1 >= maxAttempts {
			return nil, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// Outcome is what applying one inbound message or order did.
type Outcome struct {
	CustomerID string   `json:"customer_id,omitempty"`
	Duplicate  bool     `json:"duplicate,omitempty"`
	Entered    []string `json:"entered,omitempty"`
	Left       []string `json:"left,omitempty"`
}

// once applies one inbound delivery (source, id) exactly once, holding the
// lock of identity: build fills a fresh unit from fresh reads each attempt.
// It answers duplicate=true, writing nothing, when the delivery was
// applied already.
func (s *Service) once(ctx context.Context, p, identity, source, id string, build func(u *unit) error) (u *unit, duplicate bool, err error) {
	unlock := s.lock(p + "#" + identity)
	defer unlock()
	u, err = s.run(ctx, func() (*unit, error) {
		dup, err := s.seen(ctx, p, source, id)
		if err != nil {
			return nil, err
		}
		if dup {
			return nil, errDuplicate
		}
		u, err := s.newUnit(ctx, p)
		if err != nil {
			return nil, err
		}
		return u, build(u)
	})
	if errors.Is(err, errDuplicate) {
		return nil, true, nil
	}
	return u, false, err
}

// onCustomer runs change on customer id under its lock, rebuilding from
// fresh reads while other writers win; change may leave the unit empty
// (nothing is written then beyond what evaluation finds).
func (s *Service) onCustomer(ctx context.Context, p, id string, change func(u *unit, c *custState) error) (*unit, error) {
	unlock := s.lock(p + "#" + id)
	defer unlock()
	return s.run(ctx, func() (*unit, error) {
		u, err := s.newUnit(ctx, p)
		if err != nil {
			return nil, err
		}
		c, err := u.load(id)
		if err != nil {
			return nil, err
		}
		u.out.CustomerID = c.prof.ID
		return u, change(u, c)
	})
}
