// Package embedded implements core.Store on go.etcd.io/bbolt: one file, crash
// safe (every acknowledged write is fsynced), with concurrent writers coalesced
// into group commits so that durable writes stay fast.
package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/promorelay/promorelay/core"
)

var (
	bucketItems = []byte("items")
	bucketTTL   = []byte("ttl")
)

// Config configures the embedded engine.
type Config struct {
	// Dir is the data directory; the database is Dir/promorelay.db.
	Dir string
	// Clock decides which items have expired. Default: the system clock.
	Clock core.Clock
	// MaxBatch caps how many write requests share one commit. Default 512.
	MaxBatch int
	// SweepEvery is how often expired items are deleted. Default one minute;
	// negative disables the background sweeper (Sweep can still be called).
	SweepEvery time.Duration
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("embedded: data directory is required"))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, errors.New("embedded: MaxBatch must not be negative"))
	}
	return errors.Join(errs...)
}

// Store is the embedded engine. Create it with Open.
type Store struct {
	db    *bolt.DB
	clock core.Clock
	max   int

	reqs    chan *writeReq
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

var _ core.Store = (*Store)(nil)

// writeReq is one unit of work for the single writer goroutine: apply runs
// inside the shared bbolt transaction and must either write everything it
// intends or nothing (it checks before it writes).
type writeReq struct {
	apply func(tx *bolt.Tx) error
	done  chan error
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 512
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = time.Minute
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data dir: %w", err)
	}
	path := filepath.Join(cfg.Dir, "promorelay.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second, // another process holds the file lock
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketTTL} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: init buckets: %w", err)
	}
	s := &Store{
		db:      db,
		clock:   cfg.Clock,
		max:     cfg.MaxBatch,
		reqs:    make(chan *writeReq),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.writer()
	if cfg.SweepEvery > 0 {
		s.wg.Add(1)
		go s.sweeper(cfg.SweepEvery)
	}
	return s, nil
}

// Close stops the writer after the writes already handed to it and closes the
// database. Later calls return errors matching core.ErrUnavailable.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.wg.Wait()
		err = s.db.Close()
	})
	return err
}

// writer is the only goroutine that writes. It takes one request, gathers
// every other request already waiting (up to MaxBatch), applies them in one
// bbolt transaction and commits once: one fsync for the whole group.
func (s *Store) writer() {
	defer s.wg.Done()
	defer close(s.stopped)
	batch := make([]*writeReq, 0, s.max)
	results := make([]error, 0, s.max)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.closing:
			return
		}
	gather:
		for len(batch) < s.max {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		results = results[:0]
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, r := range batch {
				results = append(results, r.apply(tx))
			}
			return nil
		})
		for i, r := range batch {
			if err != nil {
				r.done <- fmt.Errorf("embedded: commit: %w", err)
				continue
			}
			r.done <- results[i]
		}
	}
}

// submit hands apply to the writer and waits for its commit.
func (s *Store) submit(ctx context.Context, apply func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{apply: apply, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.closing:
		return core.Errorf(core.CodeUnavailable, "store is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over the write may commit; wait for the outcome rather than
	// report a cancellation that did not happen.
	return <-r.done
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return core.Errorf(core.CodeUnavailable, "store is closed")
	default:
	}
	return s.db.View(fn)
}

// load returns the visible item at k, or nil when absent or expired.
func load(b *bolt.Bucket, k core.Key, now time.Time) (*core.Item, error) {
	v := b.Get(itemKey(k))
	if v == nil {
		return nil, nil
	}
	it, err := decodeValue(k, v)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", k, err)
	}
	if core.Expired(it.ExpiresAt, now) {
		return nil, nil
	}
	return &it, nil
}

// Get implements core.Store.
func (s *Store) Get(ctx context.Context, key core.Key) (core.Item, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.Item{}, err
	}
	var out *core.Item
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = load(tx.Bucket(bucketItems), key, s.clock.Now())
		return err
	})
	if err != nil {
		return core.Item{}, err
	}
	if out == nil {
		return core.Item{}, core.Errorf(core.CodeNotFound, "item %s not found", key)
	}
	return *out, nil
}

// BatchGet implements core.Store.
func (s *Store) BatchGet(ctx context.Context, keys []core.Key) (map[core.Key]core.Item, error) {
	if err := core.ValidateKeys(keys); err != nil {
		return nil, err
	}
	out := make(map[core.Key]core.Item, len(keys))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		now := s.clock.Now()
		for _, k := range keys {
			it, err := load(b, k, now)
			if err != nil {
				return err
			}
			if it != nil {
				out[k] = *it
			}
		}
		return nil
	})
	return out, err
}

// Query implements core.Store.
func (s *Store) Query(ctx context.Context, q core.Query) (core.Page, error) {
	if err := q.Validate(); err != nil {
		return core.Page{}, err
	}
	var after string
	if q.Cursor != "" {
		after, _ = core.DecodeCursor(q.Cursor)
	}
	limit := q.PageLimit()
	var items []core.Item
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		pp := partitionPrefix(q.PK)
		now := s.clock.Now()
		var k, v []byte
		if q.Reverse {
			k, v = seekBefore(c, reverseStart(pp, q, after))
		} else {
			k, v = c.Seek(forwardStart(pp, q, after))
		}
		for ; k != nil; k, v = step(c, q.Reverse) {
			if !bytes.HasPrefix(k, pp) {
				break
			}
			sk := string(k[len(pp):])
			if !q.Matches(sk) {
				break // keys are ordered: the first miss ends the selection
			}
			it, err := decodeValue(core.Key{PK: q.PK, SK: sk}, v)
			if err != nil {
				return fmt.Errorf("decode %s: %w", sk, err)
			}
			if core.Expired(it.ExpiresAt, now) {
				continue
			}
			items = append(items, it)
			if len(items) > limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return core.Page{}, err
	}
	var page core.Page
	if len(items) > limit {
		items = items[:limit]
		page.Next = core.EncodeCursor(items[limit-1].SK)
	}
	page.Items = items
	return page, nil
}

func step(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}

// forwardStart is the first key a forward query may return.
func forwardStart(pp []byte, q core.Query, after string) []byte {
	start := append([]byte(nil), pp...)
	switch {
	case after != "":
		start = append(append(start, after...), 0) // strictly after the cursor
	case q.Prefix != "":
		start = append(start, q.Prefix...)
	case q.From != "":
		start = append(start, q.From...)
	}
	return start
}

// reverseStart is the exclusive upper bound of a reverse query.
func reverseStart(pp []byte, q core.Query, after string) []byte {
	switch {
	case after != "":
		return append(append([]byte(nil), pp...), after...)
	case q.Prefix != "":
		return successor(append(append([]byte(nil), pp...), q.Prefix...))
	case q.To != "":
		return append(append(append([]byte(nil), pp...), q.To...), 0)
	}
	return successor(pp)
}

// seekBefore positions c on the last key strictly below bound (nil: the end).
func seekBefore(c *bolt.Cursor, bound []byte) ([]byte, []byte) {
	if bound == nil {
		return c.Last()
	}
	if k, _ := c.Seek(bound); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// Write implements core.Store.
func (s *Store) Write(ctx context.Context, ops ...core.Op) error {
	if err := core.ValidateWrite(ops); err != nil {
		return err
	}
	return s.submit(ctx, func(tx *bolt.Tx) error { return s.applyOps(tx, ops) })
}

// Update implements core.Store.
func (s *Store) Update(ctx context.Context, u core.Update) (core.Item, error) {
	if err := core.ValidateUpdate(u); err != nil {
		return core.Item{}, err
	}
	var out core.Item
	err := s.submit(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = s.applyUpdate(tx, u)
		return err
	})
	return out, err
}

func (s *Store) applyUpdate(tx *bolt.Tx, u core.Update) (core.Item, error) {
	var out core.Item
	err := s.applyOps(tx, []core.Op{core.UpdateOp(u)})
	if err == nil {
		var it *core.Item
		it, err = load(tx.Bucket(bucketItems), u.Key, s.clock.Now())
		if it != nil {
			out = *it
		}
	}
	return out, err
}

// applyOps checks every condition against the state the transaction sees
// (which includes the earlier requests of the same group) and only then
// writes, so a failed request leaves nothing behind.
func (s *Store) applyOps(tx *bolt.Tx, ops []core.Op) error {
	items := tx.Bucket(bucketItems)
	now := s.clock.Now()
	olds := make([]*core.Item, len(ops))
	nexts := make([]core.Item, len(ops))
	for i, op := range ops {
		cur, err := load(items, op.Target(), now)
		if err != nil {
			return err
		}
		for _, c := range op.Conditions() {
			if !c.Holds(cur) {
				return core.ConditionFailed(i, nil)
			}
		}
		if op.Kind == core.OpUpdate {
			next, ok := op.Update.Apply(cur)
			if !ok {
				return core.ConditionFailed(i, nil)
			}
			nexts[i] = next
		}
		// The raw old record, expired or not, so its TTL index entry goes too.
		if v := items.Get(itemKey(op.Target())); v != nil {
			old, err := decodeValue(op.Target(), v)
			if err != nil {
				return err
			}
			olds[i] = &old
		}
	}
	for i, op := range ops {
		var err error
		switch op.Kind {
		case core.OpPut:
			err = put(tx, olds[i], normalize(op.Item))
		case core.OpUpdate:
			err = put(tx, olds[i], nexts[i])
		case core.OpDelete:
			err = del(tx, olds[i])
		}
		if err != nil {
			return fmt.Errorf("embedded: write %s: %w", op.Target(), err)
		}
	}
	return nil
}

func normalize(it core.Item) core.Item {
	if len(it.Nums) == 0 {
		it.Nums = nil
	}
	if len(it.Data) == 0 {
		it.Data = nil
	}
	return it
}

func put(tx *bolt.Tx, old *core.Item, it core.Item) error {
	if old != nil && old.ExpiresAt != 0 && old.ExpiresAt != it.ExpiresAt {
		if err := tx.Bucket(bucketTTL).Delete(ttlKey(old.ExpiresAt, old.Key)); err != nil {
			return err
		}
	}
	if it.ExpiresAt != 0 {
		if err := tx.Bucket(bucketTTL).Put(ttlKey(it.ExpiresAt, it.Key), nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketItems).Put(itemKey(it.Key), encodeValue(it))
}

func del(tx *bolt.Tx, old *core.Item) error {
	if old == nil {
		return nil
	}
	if old.ExpiresAt != 0 {
		if err := tx.Bucket(bucketTTL).Delete(ttlKey(old.ExpiresAt, old.Key)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketItems).Delete(itemKey(old.Key))
}

// Sweep deletes up to 1,000 items that have expired by now and returns how
// many it deleted. Expired items are already invisible; this reclaims space.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	n := 0
	err := s.submit(ctx, func(tx *bolt.Tx) error {
		now := s.clock.Now().Unix()
		c := tx.Bucket(bucketTTL).Cursor()
		var victims [][]byte
		for k, _ := c.First(); k != nil && len(victims) < 1000; k, _ = c.Next() {
			if int64(beUint64(k)) > now {
				break
			}
			victims = append(victims, append([]byte(nil), k...))
		}
		items := tx.Bucket(bucketItems)
		for _, k := range victims {
			if err := tx.Bucket(bucketTTL).Delete(k); err != nil {
				return err
			}
			if err := items.Delete(k[8:]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}

func (s *Store) sweeper(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			for {
				n, err := s.Sweep(context.Background())
				if err != nil || n < 1000 {
					break
				}
			}
		}
	}
}
