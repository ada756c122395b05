package audience

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// timelineEntry is one thing that happened to a customer that is not a
// counted event: identify calls, orders, segment transitions, merges.
type timelineEntry struct {
	Type      string         `json:"type"`
	At        time.Time      `json:"at"`
	MessageID string         `json:"message_id,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

func (u *unit) timelineOp(cust string, t timelineEntry) (core.Op, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return core.Op{}, err
	}
	if len(data) > 4096 {
		t.Data = map[string]any{"truncated": true}
		data, _ = json.Marshal(t)
	}
	return core.Put(core.Item{Key: core.Key{PK: customer.Partition(u.p, cust), SK: "tl#" + u.s.IDs.New("act")},
		Version: 1, Data: data, ExpiresAt: u.now.Add(TimelineTTL).Unix()}), nil
}

// Activity is one entry of a customer's activity timeline (Voucherify's
// customer activity object).
type Activity struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
	Object    string         `json:"object"` // "customer_activity"
}

// MaxActivity bounds one activity listing.
const MaxActivity = 100

// ActivityFilter narrows a customer's activity listing.
type ActivityFilter struct {
	Limit     int
	Type      string
	StartDate time.Time
	EndDate   time.Time
}

// Activity returns a customer's latest activity, newest first: timeline
// entries (which expire after TimelineTTL) and the latest occurrences of
// each event it performed, including those of profiles merged into it.
func (s *Service) Activity(ctx context.Context, p, custID string, f ActivityFilter) ([]Activity, error) {
	prof, _, err := customer.Load(ctx, s.Store, p, custID)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxActivity {
		limit = MaxActivity
	}
	var out []Activity
	for _, id := range append([]string{prof.ID}, prof.MergedFrom...) {
		acts, err := s.activityOf(ctx, p, id, limit, f.keep)
		if err != nil {
			return nil, err
		}
		out = append(out, acts...)
	}
	slices.SortStableFunc(out, func(a, b Activity) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out[:min(len(out), limit)], nil
}

// keep reports whether a matches the filter.
func (f ActivityFilter) keep(a Activity) bool {
	return (f.Type == "" || a.Type == f.Type) &&
		(f.StartDate.IsZero() || !a.CreatedAt.Before(f.StartDate)) &&
		(f.EndDate.IsZero() || !a.CreatedAt.After(f.EndDate))
}

// maxActivityScan bounds the timeline entries one listing reads while
// looking for entries that match its filter.
const maxActivityScan = 2000

// activityOf returns up to limit of one profile's timeline entries that
// keep accepts (newest written first), and its events' latest occurrences.
func (s *Service) activityOf(ctx context.Context, p, cust string, limit int, keep func(Activity) bool) ([]Activity, error) {
	var out []Activity
	cursor, scanned := "", 0
	for len(out) < limit && scanned < maxActivityScan {
		pg, err := s.Store.Query(ctx, core.Query{PK: customer.Partition(p, cust), Prefix: "tl#", Reverse: true, Limit: 100, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, it := range pg.Items {
			scanned++
			var t timelineEntry
			if err := json.Unmarshal(it.Data, &t); err != nil {
				return nil, fmt.Errorf("decode %s: %w", it.Key, err)
			}
			if t.Data == nil {
				t.Data = map[string]any{}
			}
			if t.MessageID != "" {
				t.Data["message_id"] = t.MessageID
			}
			if a := (Activity{ID: strings.TrimPrefix(it.SK, "tl#"), Type: t.Type, Data: t.Data, CreatedAt: t.At, Object: "customer_activity"}); keep(a) {
				out = append(out, a)
			}
		}
		if pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	err := s.eachEventItem(ctx, p, cust, func(_ core.Item, st eventItem) error {
		for i, oc := range st.Recent {
			data := map[string]any{"event": st.Name, "call": oc.Type, "message_id": oc.MessageID}
			if oc.Properties != nil {
				data["properties"] = oc.Properties
			}
			id := oc.MessageID
			if id == "" {
				id = fmt.Sprintf("%s#%d", st.Name, i)
			}
			if a := (Activity{ID: "evt:" + id, Type: "customer.custom_event", Data: data, CreatedAt: oc.At, Object: "customer_activity"}); keep(a) {
				out = append(out, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EventCounts returns a customer's event counters (promorelay's addition
// to the profile view).
func (s *Service) EventCounts(ctx context.Context, p, custID string) ([]customer.EventStats, error) {
	prof, _, err := customer.Load(ctx, s.Store, p, custID)
	if err != nil {
		return nil, err
	}
	var out []customer.EventStats
	err = s.eachEventItem(ctx, p, prof.ID, func(_ core.Item, st eventItem) error {
		out = append(out, st.EventStats)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachEventItem calls fn with every event counter item of one customer.
func (s *Service) eachEventItem(ctx context.Context, p, custID string, fn func(core.Item, eventItem) error) error {
	q := core.Query{PK: customer.Partition(p, custID), Prefix: "ev#", Limit: 100}
	return core.Each(ctx, s.Store, q, func(it core.Item) error {
		var st eventItem
		if err := json.Unmarshal(it.Data, &st); err != nil {
			return fmt.Errorf("decode %s: %w", it.Key, err)
		}
		return fn(it, st)
	})
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 1 << 30
	}
	return len(b)
}
