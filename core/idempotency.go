package core

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// IdempotencyTTL is how long an idempotency key is remembered.
const IdempotencyTTL = 7 * 24 * time.Hour

// Idempotency identifies one request by the client's Idempotency-Key within
// a project, and the hash of what the request asked for.
type Idempotency struct {
	Project string
	Key     string
	Hash    string // of method, path and body: a reused key with another request is refused
}

type idemCtxKey struct{}

// WithIdempotency returns a context carrying req. A mutating service that
// finds it commits the idempotency record in the same transaction as its
// state change, so a retry after a crash can never apply the change twice.
// The caller (the HTTP adapter) calls CheckIdempotency before starting the
// operation, so a replay answers without doing any work.
func WithIdempotency(ctx context.Context, req Idempotency) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, req)
}

// IdempotencyFrom returns the request's idempotency key, if any.
func IdempotencyFrom(ctx context.Context) (Idempotency, bool) {
	r, ok := ctx.Value(idemCtxKey{}).(Idempotency)
	return r, ok
}

type idemRecord struct {
	Hash   string          `json:"hash"`
	Result json.RawMessage `json:"result"`
}

func (r Idempotency) key() Key { return Key{PK: r.Project + "#idem#" + r.Key, SK: "i"} }

// Replayed is returned by a mutating operation whose idempotency key was
// already used for the same request: Result is the first call's result.
type Replayed struct {
	Result json.RawMessage
}

func (r *Replayed) Error() string { return "idempotent replay" }

// IdempotencyOp returns the write that records result under the context's
// idempotency key (ok=false when the request has none). Append it to the
// state change's transaction; when it fails its condition, call
// ResolveIdempotency.
func IdempotencyOp(ctx context.Context, now time.Time, result any) (Op, bool, error) {
	req, ok := IdempotencyFrom(ctx)
	if !ok {
		return Op{}, false, nil
	}
	body, err := json.Marshal(result)
	if err != nil {
		return Op{}, false, err
	}
	data, err := json.Marshal(idemRecord{Hash: req.Hash, Result: body})
	if err != nil {
		return Op{}, false, err
	}
	return Put(Item{Key: req.key(), Version: 1, Data: data, ExpiresAt: now.Add(IdempotencyTTL).Unix()}, IfNotExists()), true, nil
}

// CheckIdempotency looks the context's key up before any work: it returns a
// *Replayed error when the same request already succeeded, an error with
// CodeIdempotencyReused when the key was used for another request, and nil
// when the request is new (or carries no key).
func CheckIdempotency(ctx context.Context, s Store) error {
	req, ok := IdempotencyFrom(ctx)
	if !ok {
		return nil
	}
	it, err := s.Get(ctx, req.key())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec idemRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return err
	}
	if rec.Hash != req.Hash {
		return Errorf(CodeIdempotencyReused, "idempotency key %q was used for a different request", req.Key)
	}
	return &Replayed{Result: rec.Result}
}

// ResolveIdempotency is called when a transaction failed: if the failing
// operation was the idempotency record, a concurrent twin won the race and
// its result is returned as *Replayed (or the reuse error); otherwise err is
// returned unchanged.
func ResolveIdempotency(ctx context.Context, s Store, err error, idemIndex int) error {
	if idemIndex < 0 || FailedIndex(err) != idemIndex {
		return err
	}
	if cerr := CheckIdempotency(ctx, s); cerr != nil {
		return cerr
	}
	return err
}

// WriteRecorded writes ops as one transaction together with the request's
// idempotency record of result (when the context carries a key), so a
// retried request answers the first one's result: a replay comes back as
// *Replayed.
func WriteRecorded(ctx context.Context, s Store, now time.Time, result any, ops ...Op) error {
	op, ok, err := IdempotencyOp(ctx, now, result)
	if err != nil {
		return err
	}
	idem := -1
	if ok {
		idem = len(ops)
		ops = append(ops, op)
	}
	return ResolveIdempotency(ctx, s, s.Write(ctx, ops...), idem)
}
