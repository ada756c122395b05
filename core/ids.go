package core

import (
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// IDs makes unique, time-ordered identifiers (ULIDs) with a prefix naming the
// object kind, e.g. "r_01JD…" for a redemption. Within one generator IDs are
// strictly increasing, so sort keys built from them keep creation order.
// Safe for concurrent use.
type IDs struct {
	clock Clock
	mu    sync.Mutex
	src   *ulid.MonotonicEntropy
}

// NewIDs returns a generator reading time from clock and randomness from
// entropy (crypto/rand when nil; tests pass a fixed reader).
func NewIDs(clock Clock, entropy io.Reader) *IDs {
	if entropy == nil {
		entropy = rand.Reader
	}
	return &IDs{clock: clock, src: ulid.Monotonic(entropy, 0)}
}

// New returns prefix + "_" + a new ULID in lower case.
func (g *IDs) New(prefix string) string {
	g.mu.Lock()
	id := ulid.MustNew(ulid.Timestamp(g.clock.Now()), g.src)
	g.mu.Unlock()
	return prefix + "_" + lower(id.String())
}

// IDTimeBound is prefix + "_" + the time part of the ids made at t's
// millisecond: every id of that prefix made earlier sorts below it, every
// id made at or after that millisecond above it.
func IDTimeBound(prefix string, t time.Time) string {
	var id ulid.ULID
	switch {
	case t.Before(time.UnixMilli(0)):
		return prefix + "_" // below every id
	case id.SetTime(ulid.Timestamp(t)) != nil:
		return prefix + "_~" // past ULID time: above every id
	}
	return prefix + "_" + lower(id.String()[:10])
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
