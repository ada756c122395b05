package core

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff sleeps a jittered exponential delay before retry number attempt
// (0-based): a random duration up to base·2^attempt, capped at limit, plus
// a floor of base/10 so retries never spin. It returns early with ctx's
// error when ctx ends. Retry loops of every layer share it.
func Backoff(ctx context.Context, attempt int, base, limit time.Duration) error {
	d := min(base<<min(attempt, 10), limit)
	t := time.NewTimer(rand.N(d) + base/10 + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
