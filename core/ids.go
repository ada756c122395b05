package core

import (
	"crypto/rand"
	"io"
	"sync"

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

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
