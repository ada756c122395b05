package core

import "context"

// Each calls fn with every item q selects, page by page (q.Limit items a
// page; 0 is DefaultLimit), in q's order, starting at q.Cursor. It stops at
// the first error of the store or of fn and returns it. fn may delete the
// item it is given: the next page starts after it either way.
func Each(ctx context.Context, st Store, q Query, fn func(Item) error) error {
	for {
		pg, err := st.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, it := range pg.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			return nil
		}
		q.Cursor = pg.Next
	}
}
