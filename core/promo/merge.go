package promo

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/promorelay/promorelay/core"
)

// mergeNewest pages over several partitions whose sort keys are time-ordered
// ids, newest first, as if they were one: it reads up to limit items from
// each, takes the newest across them, and keeps one position per partition
// in the cursor. keep filters items (nil keeps all); a filtered page may be
// shorter than limit while more follows.
func mergeNewest(ctx context.Context, st core.Store, partitions []string, limit int, cursor string, keep func(core.Item) bool) ([]core.Item, string, error) {
	pos := make([]string, len(partitions)) // "" start, "-" done, else a store cursor
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(raw, &pos) != nil || len(pos) != len(partitions) {
			return nil, "", core.Errorf(core.CodeInvalid, "bad cursor")
		}
	}
	heads := make([][]core.Item, len(partitions))
	exhausted := make([]bool, len(partitions)) // nothing beyond what heads holds
	for i, pk := range partitions {
		if pos[i] == "-" {
			exhausted[i] = true
			continue
		}
		pg, err := st.Query(ctx, core.Query{PK: pk, Reverse: true, Limit: limit, Cursor: pos[i]})
		if err != nil {
			return nil, "", err
		}
		heads[i], exhausted[i] = pg.Items, pg.Next == ""
	}
	var out []core.Item
	taken := make([]int, len(partitions))
	for consumed := 0; consumed < limit; consumed++ {
		best := -1
		for i, h := range heads {
			if taken[i] < len(h) && (best < 0 || h[taken[i]].SK > heads[best][taken[best]].SK) {
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
				pos[i] = core.EncodeCursor(h[taken[i]-1].SK)
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
