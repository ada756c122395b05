package audience

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/segment"
)

// Segment types (Voucherify's).
const (
	SegmentAuto   = "auto-update"
	SegmentStatic = "static"
)

// Sync statuses of a segment's memberships over existing customers.
const (
	SyncInProgress = "IN_PROGRESS"
	SyncDone       = "DONE"
)

// MaxAutoSegments bounds a project's auto-update segments: every change of
// a customer evaluates all of them.
const MaxAutoSegments = 200

// MaxStaticCustomers is Voucherify's cap on a static segment's customers.
const MaxStaticCustomers = 20_000

// Segment is a customer segment as Voucherify shows it, plus promorelay's
// backfill progress.
type Segment struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	CreatedAt         time.Time       `json:"created_at"`
	Type              string          `json:"type"`
	Filter            json.RawMessage `json:"filter"`
	InitialSyncStatus string          `json:"initial_sync_status"`
	Object            string          `json:"object"` // "segment"
	// Backfill is promorelay's: the job that brings existing customers'
	// memberships up to date after the segment was created.
	Backfill *Backfill `json:"backfill,omitempty"`
}

// Backfill is a segment backfill's progress: Progress is the percentage of
// the customer list walked, Processed the customers evaluated so far,
// Entered those that entered the segment and Left those that left it (after
// a change of its filter).
type Backfill struct {
	Status     string     `json:"status"`
	Progress   int        `json:"progress"`
	Processed  int64      `json:"processed"`
	Entered    int64      `json:"entered"`
	Left       int64      `json:"left"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// SegmentInput is POST /v1/segments.
type SegmentInput struct {
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Filter    json.RawMessage `json:"filter"`
	Customers []string        `json:"customers"`
}

func segmentKey(p, id string) core.Key         { return core.Key{PK: p + "#seg#" + id, SK: "s"} }
func segmentListKey(p, id string) core.Key     { return core.Key{PK: p + "#segs", SK: id} }
func defsKey(p string) core.Key                { return core.Key{PK: p + "#segdefs", SK: "auto"} }
func membershipPartition(p, seg string) string { return p + "#segm#" + seg }
func membershipKey(p, seg, cust string) core.Key {
	return core.Key{PK: membershipPartition(p, seg), SK: cust}
}

// autoDef is one auto-update segment as the ingest path evaluates it.
type autoDef struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Filter json.RawMessage `json:"filter"`
}

// autoDefs are a project's auto-update segments, compiled.
type autoDefs struct {
	list   []compiledDef
	events []string // every event name the filters read
}

type compiledDef struct {
	id, name string
	filter   *segment.Filter
}

// defsCache keeps compiled filters by the hash of the stored definitions,
// so reading the definitions item per change costs one read and no
// compilation.
type defsCache struct {
	mu sync.Mutex
	m  map[string]*autoDefs // project + hash → compiled
}

func (s *Service) loadDefs(ctx context.Context, p string) (*autoDefs, error) {
	it, err := s.Store.Get(ctx, defsKey(p))
	if errors.Is(err, core.ErrNotFound) {
		return &autoDefs{}, nil
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(it.Data)
	ck := p + "\x00" + hex.EncodeToString(sum[:])
	s.defs.mu.Lock()
	d, ok := s.defs.m[ck]
	s.defs.mu.Unlock()
	if ok {
		return d, nil
	}
	var raw []autoDef
	if err := json.Unmarshal(it.Data, &raw); err != nil {
		return nil, fmt.Errorf("decode segment definitions: %w", err)
	}
	d = &autoDefs{}
	seen := map[string]bool{}
	for _, r := range raw {
		f, err := segment.Compile(r.Filter)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", r.ID, err)
		}
		d.list = append(d.list, compiledDef{id: r.ID, name: r.Name, filter: f})
		for _, e := range f.Events() {
			if !seen[e] {
				seen[e] = true
				d.events = append(d.events, e)
			}
		}
	}
	sort.Strings(d.events)
	s.defs.mu.Lock()
	if s.defs.m == nil || len(s.defs.m) > 1000 {
		s.defs.m = map[string]*autoDefs{}
	}
	s.defs.m[ck] = d
	s.defs.mu.Unlock()
	return d, nil
}

// CreateSegment creates a segment. A static segment's customers (ids or
// source_ids, at most MaxStaticCustomers) must exist; an auto-update
// segment's filter is compiled first, and existing customers are brought
// into it by a background backfill whose progress the segment shows.
func (s *Service) CreateSegment(ctx context.Context, p string, in SegmentInput) (Segment, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Type == "" {
		in.Type = SegmentStatic
		if len(in.Filter) > 0 && string(in.Filter) != "null" {
			in.Type = SegmentAuto
		}
	}
	var probs []string
	if in.Name == "" || len(in.Name) > 200 {
		probs = append(probs, "name: required, at most 200 characters")
	}
	switch in.Type {
	case SegmentAuto:
		if len(in.Customers) > 0 {
			probs = append(probs, "customers: only a static segment lists customers")
		}
	case SegmentStatic:
		if len(in.Filter) > 0 && string(in.Filter) != "null" {
			probs = append(probs, "filter: only an auto-update segment has a filter")
		}
		if len(in.Customers) > MaxStaticCustomers {
			probs = append(probs, fmt.Sprintf("customers: at most %d", MaxStaticCustomers))
		}
	default:
		probs = append(probs, `type: must be "auto-update" or "static"`)
	}
	if len(probs) > 0 {
		return Segment{}, core.KeyedError(core.CodeInvalid, "invalid_segment", "%s", strings.Join(probs, "; "))
	}
	seg := Segment{ID: s.IDs.New("seg"), Name: in.Name, CreatedAt: s.now(), Type: in.Type, Object: "segment",
		InitialSyncStatus: SyncDone}
	if in.Type == SegmentStatic {
		return seg, s.createStatic(ctx, p, seg, in.Customers)
	}
	if _, err := segment.Compile(in.Filter); err != nil {
		return Segment{}, err
	}
	seg.Filter = in.Filter
	seg.InitialSyncStatus = SyncInProgress
	seg.Backfill = &Backfill{Status: SyncInProgress}
	if err := s.startSweeps(ctx, p); err != nil {
		return Segment{}, err
	}
	if err := s.addAuto(ctx, p, seg); err != nil {
		return Segment{}, err
	}
	bf, err := s.startBackfill(ctx, p, seg.ID)
	if err != nil {
		return Segment{}, err
	}
	seg.Backfill = bf
	return seg, nil
}

// SegmentUpdate is promorelay's PUT /v1/segments/{id}: a new name and, for
// an auto-update segment, a new filter. What is omitted stays.
type SegmentUpdate struct {
	Name   *string         `json:"name"`
	Filter json.RawMessage `json:"filter"`
}

// UpdateSegment renames a segment or changes an auto-update segment's
// filter. A new filter decides every change of a customer from the update
// on, and a backfill re-evaluates the existing customers: those it no
// longer matches leave (customer.segment.left), those it now matches enter.
// It fails with core.CodeInvalid (key invalid_segment or the filter's) and
// core.CodeNotFound, writing nothing then.
func (s *Service) UpdateSegment(ctx context.Context, p, id string, in SegmentUpdate) (Segment, error) {
	var probs []string
	if in.Name != nil {
		if n := strings.TrimSpace(*in.Name); n == "" || len(n) > 200 {
			probs = append(probs, "name: required, at most 200 characters")
		} else {
			in.Name = &n
		}
	}
	newFilter := len(in.Filter) > 0 && string(in.Filter) != "null"
	if in.Name == nil && !newFilter {
		probs = append(probs, "give a name or a filter to change")
	}
	if len(probs) > 0 {
		return Segment{}, core.KeyedError(core.CodeInvalid, "invalid_segment", "%s", strings.Join(probs, "; "))
	}
	if newFilter {
		if _, err := segment.Compile(in.Filter); err != nil {
			return Segment{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		seg, changed, err := s.updateSegment(ctx, p, id, in, newFilter)
		if err == nil && changed {
			seg.Backfill, err = s.startBackfill(ctx, p, id)
		}
		if err == nil || !retryable(err) || attempt > 20 {
			return seg, err
		}
	}
}

// updateSegment writes one attempt of UpdateSegment; changed says whether
// the filter is new.
func (s *Service) updateSegment(ctx context.Context, p, id string, in SegmentUpdate, newFilter bool) (Segment, bool, error) {
	seg, it, err := s.loadSegment(ctx, p, id)
	if err != nil {
		return seg, false, err
	}
	if newFilter && seg.Type != SegmentAuto {
		return Segment{}, false, core.KeyedError(core.CodeInvalid, "invalid_segment", "filter: only an auto-update segment has a filter")
	}
	changed := newFilter && !sameJSON(seg.Filter, in.Filter)
	if in.Name != nil {
		seg.Name = *in.Name
	}
	if newFilter {
		seg.Filter = in.Filter
	}
	if changed {
		seg.InitialSyncStatus = SyncInProgress
	}
	data, err := json.Marshal(seg)
	if err != nil {
		return seg, false, err
	}
	ops := []core.Op{
		core.Put(core.Item{Key: segmentKey(p, id), Version: it.Version + 1, Data: data}, core.IfVersion(it.Version)),
		core.Put(core.Item{Key: segmentListKey(p, id), Version: 1, Data: []byte(seg.Name)}),
	}
	if seg.Type == SegmentAuto {
		defs, version, err := s.rawDefs(ctx, p)
		if err != nil {
			return seg, false, err
		}
		for i := range defs {
			if defs[i].ID == id {
				defs[i].Name, defs[i].Filter = seg.Name, seg.Filter
			}
		}
		ops = append(ops, defsOp(p, defs, version))
	}
	if err := s.writeRecorded(ctx, seg, ops); err != nil {
		return seg, false, err
	}
	if !changed {
		bf, err := s.backfillState(ctx, p, id)
		seg.Backfill = bf
		return seg, false, err
	}
	return seg, true, nil
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// addAuto stores an auto-update segment and adds it to the definitions
// every change reads, in one transaction.
func (s *Service) addAuto(ctx context.Context, p string, seg Segment) error {
	for attempt := 0; ; attempt++ {
		defs, version, err := s.rawDefs(ctx, p)
		if err != nil {
			return err
		}
		if len(defs) >= MaxAutoSegments {
			return core.KeyedError(core.CodeInvalid, "too_many_segments", "a project has at most %d auto-update segments", MaxAutoSegments)
		}
		defs = append(defs, autoDef{ID: seg.ID, Name: seg.Name, Filter: seg.Filter})
		ops, err := s.segmentOps(p, seg)
		if err != nil {
			return err
		}
		ops = append(ops, defsOp(p, defs, version))
		err = s.writeRecorded(ctx, seg, ops)
		if err == nil || !retryable(err) || attempt > 20 {
			return err
		}
	}
}

// writeRecorded writes ops with the request's idempotency record of
// result, so a retried request answers the first one's result.
func (s *Service) writeRecorded(ctx context.Context, result any, ops []core.Op) error {
	return core.WriteRecorded(ctx, s.Store, s.now(), result, ops...)
}

func (s *Service) rawDefs(ctx context.Context, p string) ([]autoDef, int64, error) {
	it, err := s.Store.Get(ctx, defsKey(p))
	if errors.Is(err, core.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var defs []autoDef
	return defs, it.Version, json.Unmarshal(it.Data, &defs)
}

func defsOp(p string, defs []autoDef, version int64) core.Op {
	if len(defs) == 0 {
		return core.Delete(defsKey(p), core.IfVersion(version))
	}
	data, _ := json.Marshal(defs)
	cond := core.IfNotExists()
	if version > 0 {
		cond = core.IfVersion(version)
	}
	return core.Put(core.Item{Key: defsKey(p), Version: version + 1, Data: data}, cond)
}

func (s *Service) segmentOps(p string, seg Segment) ([]core.Op, error) {
	data, err := json.Marshal(seg)
	if err != nil {
		return nil, err
	}
	return []core.Op{
		core.Put(core.Item{Key: segmentKey(p, seg.ID), Version: 1, Data: data}, core.IfNotExists()),
		core.Put(core.Item{Key: segmentListKey(p, seg.ID), Version: 1, Data: []byte(seg.Name)}),
	}, nil
}

// createStatic stores a static segment and its members. Members are added
// in transactions of at most staticBatch customers after the segment item,
// each customer's profile updated with the membership.
func (s *Service) createStatic(ctx context.Context, p string, seg Segment, refs []string) error {
	ids := make([]string, 0, len(refs))
	seen := map[string]bool{}
	for i, ref := range refs {
		prof, err := s.findCustomer(ctx, p, ref)
		if err != nil {
			return core.KeyedError(core.CodeNotFound, "customer_not_found", "customers[%d]: customer %s not found", i, ref)
		}
		if !seen[prof.ID] {
			seen[prof.ID] = true
			ids = append(ids, prof.ID)
		}
	}
	ops, err := s.segmentOps(p, seg)
	if err != nil {
		return err
	}
	if err := s.writeRecorded(ctx, seg, ops); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.setStatic(ctx, p, seg, id, true); err != nil {
			return err
		}
	}
	return nil
}

// setStatic adds or removes one customer of a static segment.
func (s *Service) setStatic(ctx context.Context, p string, seg Segment, custID string, in bool) error {
	_, err := s.onCustomer(ctx, p, custID, func(u *unit, c *custState) error {
		if slices.Contains(c.prof.Segments, seg.ID) != in {
			u.transition(c, seg.ID, seg.Name, in)
		}
		return nil
	})
	return err
}

// findCustomer finds a customer by id or source_id.
func (s *Service) findCustomer(ctx context.Context, p, ref string) (customer.Profile, error) {
	if strings.HasPrefix(ref, "cust_") {
		if prof, _, err := customer.Load(ctx, s.Store, p, ref); err == nil || !errors.Is(err, core.ErrNotFound) {
			return prof, err
		}
	}
	id, err := s.identity(ctx, p, customer.IdentitySource, ref)
	if err != nil {
		return customer.Profile{}, err
	}
	if id == "" {
		return customer.Profile{}, core.Errorf(core.CodeNotFound, "customer %s not found", ref)
	}
	prof, _, err := customer.Load(ctx, s.Store, p, id)
	return prof, err
}

// loadSegment reads a stored segment; core.CodeNotFound when there is none.
func (s *Service) loadSegment(ctx context.Context, p, id string) (Segment, core.Item, error) {
	it, err := s.Store.Get(ctx, segmentKey(p, id))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return Segment{}, it, core.Errorf(core.CodeNotFound, "cannot find segment with id %s", id)
	}
	if err != nil {
		return Segment{}, it, err
	}
	var seg Segment
	return seg, it, json.Unmarshal(it.Data, &seg)
}

// GetSegment returns a segment with its backfill progress.
func (s *Service) GetSegment(ctx context.Context, p, id string) (Segment, error) {
	seg, _, err := s.loadSegment(ctx, p, id)
	if err != nil {
		return seg, err
	}
	if seg.Type == SegmentAuto {
		bf, err := s.backfillState(ctx, p, id)
		if err != nil {
			return seg, err
		}
		if bf != nil {
			seg.Backfill = bf
			if bf.Status == SyncDone {
				seg.InitialSyncStatus = SyncDone
			}
		}
	}
	return seg, nil
}

// ListSegments lists a project's segments, oldest first.
func (s *Service) ListSegments(ctx context.Context, p string, limit int, cursor string) ([]Segment, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: p + "#segs", Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]Segment, 0, len(pg.Items))
	for _, it := range pg.Items {
		seg, err := s.GetSegment(ctx, p, it.SK)
		if err != nil {
			return nil, "", err
		}
		out = append(out, seg)
	}
	return out, pg.Next, nil
}

// DeleteSegment deletes a segment. Its definition leaves the ingest path at
// once; memberships are removed in the background (customers leave without
// customer.segment.left events: the segment is gone, not the customers'
// behaviour).
func (s *Service) DeleteSegment(ctx context.Context, p, id string) error {
	seg, err := s.GetSegment(ctx, p, id)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ops := []core.Op{core.Delete(segmentKey(p, id), core.IfExists()), core.Delete(segmentListKey(p, id))}
		if seg.Type == SegmentAuto {
			defs, version, err := s.rawDefs(ctx, p)
			if err != nil {
				return err
			}
			defs = slices.DeleteFunc(defs, func(d autoDef) bool { return d.ID == id })
			ops = append(ops, defsOp(p, defs, version))
		}
		err = s.Store.Write(ctx, ops...)
		if err == nil {
			break
		}
		if !retryable(err) || attempt > 20 {
			return err
		}
	}
	return s.dropMembers(ctx, p, id)
}

// dropMembers removes every membership of a deleted segment.
func (s *Service) dropMembers(ctx context.Context, p, seg string) error {
	for {
		pg, err := s.Store.Query(ctx, core.Query{PK: membershipPartition(p, seg), Limit: 100})
		if err != nil || len(pg.Items) == 0 {
			return err
		}
		for _, it := range pg.Items {
			if err := s.forget(ctx, p, seg, it.SK); err != nil {
				return err
			}
		}
	}
}

// forget removes a deleted segment from one customer.
func (s *Service) forget(ctx context.Context, p, seg, custID string) error {
	unlock := s.lock(p + "#" + custID)
	defer unlock()
	for attempt := 0; ; attempt++ {
		prof, it, err := customer.Load(ctx, s.Store, p, custID)
		ops := []core.Op{core.Delete(membershipKey(p, seg, custID))}
		if err == nil && slices.Contains(prof.Segments, seg) {
			prof.Segments = slices.DeleteFunc(prof.Segments, func(x string) bool { return x == seg })
			data, merr := json.Marshal(prof)
			if merr != nil {
				return merr
			}
			ops = append(ops, core.Put(core.Item{Key: it.Key, Version: it.Version + 1, Data: data}, core.IfVersion(it.Version)))
		} else if err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		err = s.Store.Write(ctx, ops...)
		if err == nil || !retryable(err) || attempt > 20 {
			return err
		}
	}
}

// Members lists the ids of a segment's customers.
func (s *Service) Members(ctx context.Context, p, seg string, limit int, cursor string) ([]string, string, error) {
	if _, err := s.GetSegment(ctx, p, seg); err != nil {
		return nil, "", err
	}
	pg, err := s.Store.Query(ctx, core.Query{PK: membershipPartition(p, seg), Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(pg.Items))
	for i, it := range pg.Items {
		ids[i] = it.SK
	}
	return ids, pg.Next, nil
}

// CustomerSegments returns the segments a customer is in.
func (s *Service) CustomerSegments(ctx context.Context, p, custID string) ([]Segment, error) {
	prof, _, err := customer.Load(ctx, s.Store, p, custID)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(prof.Segments))
	for _, id := range prof.Segments {
		seg, err := s.GetSegment(ctx, p, id)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, seg)
	}
	return out, nil
}
