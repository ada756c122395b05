package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
)

// MergeNewest pages over several partitions whose sort keys are time-ordered
// ids, newest first, as if they were one: it reads up to limit items from
// each, takes the newest across them, and keeps one position per partition
// in the cursor. keep filters items (nil keeps all); a filtered page may be
// shorter than limit while more follows.
func MergeNewest(ctx context.Context, st Store, partitions []string, limit int, cursor string, keep func(Item) bool) ([]Item, string, error) {
	return MergeRange(ctx, st, partitions, SortRange{}, limit, cursor, keep)
}

// SortRange narrows a merged listing to sort keys From..To (inclusive;
// empty is unbounded) and orders it oldest first when Oldest is set.
type SortRange struct {
	From, To string
	Oldest   bool
}

// MergeRange is MergeNewest over the sort keys of rng, in its order.
func MergeRange(ctx context.Context, st Store, partitions []string, rng SortRange, limit int, cursor string, keep func(Item) bool) ([]Item, string, error) {
	pos := make([]string, len(partitions)) // "" start, "-" done, else a store cursor
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(raw, &pos) != nil || len(pos) != len(partitions) {
			return nil, "", Errorf(CodeInvalid, "bad cursor")
		}
	}
	heads := make([][]Item, len(partitions))
	exhausted := make([]bool, len(partitions)) // nothing beyond what heads holds
	for i, pk := range partitions {
		if pos[i] == "-" {
			exhausted[i] = true
			continue
		}
		pg, err := st.Query(ctx, Query{PK: pk, From: rng.From, To: rng.To, Reverse: !rng.Oldest, Limit: limit, Cursor: pos[i]})
		if err != nil {
			return nil, "", err
		}
		heads[i], exhausted[i] = pg.Items, pg.Next == ""
	}
	var out []Item
	taken := make([]int, len(partitions))
	for consumed := 0; consumed < limit; consumed++ {
		best := -1
		for i, h := range heads {
			if taken[i] < len(h) && (best < 0 || (h[taken[i]].SK > heads[best][taken[best]].SK) != rng.Oldest) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		it := heads[best][taken[best]]
		taken[best]++
		if keep == nil || keep(it) {
			out = append(out, it)
		}
	}
	more := false
	for i, h := range heads {
		switch {
		case pos[i] == "-":
		case taken[i] == len(h) && exhausted[i]:
			pos[i] = "-"
		default:
			if taken[i] > 0 {
				pos[i] = EncodeCursor(h[taken[i]-1].SK)
			}
			more = true
		}
	}
	if !more {
		return out, "", nil
	}
	raw, err := json.Marshal(pos)
	if err != nil {
		return nil, "", err
	}
	return out, base64.RawURLEncoding.EncodeToString(raw), nil
}
