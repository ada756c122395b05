package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/dynamo"
)

// Store measures the storage port of one engine: durable single-item writes
// at 1, 16 and 64 concurrent writers (the embedded engine's group commit
// shows as throughput rising with writers), two-item transactions, strongly
// consistent reads, and bounded adds on one hot item. size scales the runs.
func Store(ctx context.Context, r *Report, engine string, s core.Store, size int64) error {
	payload := make([]byte, 300) // about a profile's size
	for _, workers := range []int{1, 16, 64} {
		n := size
		if workers == 1 {
			n = size / 8
		}
		l := Load(ctx, workers, n, func(ctx context.Context, seq int64) error {
			k := core.Key{PK: fmt.Sprintf("bench#w%d#%d", workers, seq%1024), SK: fmt.Sprint(seq)}
			return s.Write(ctx, core.Put(core.Item{Key: k, Version: 1, Data: payload}))
		})
		if l.Errors > 0 {
			return fmt.Errorf("put with %d writers: %d errors", workers, l.Errors)
		}
		r.Add(Row{Measure: fmt.Sprintf("durable put, %d writers", workers), Engine: engine, Value: l.String()})
	}
	l := Load(ctx, 64, size, func(ctx context.Context, seq int64) error {
		return s.Write(ctx,
			core.Put(core.Item{Key: core.Key{PK: fmt.Sprintf("bench#tx#%d", seq), SK: "a"}, Version: 1, Data: payload}, core.IfNotExists()),
			core.UpdateOp(core.Update{Key: core.Key{PK: fmt.Sprintf("bench#txc#%d", seq%4096), SK: "n"}, Adds: []core.Add{core.AddBy("n", 1)}}))
	})
	if l.Errors > 0 {
		return fmt.Errorf("transactions: %d errors", l.Errors)
	}
	r.Add(Row{Measure: "2-item transaction (put if absent + counter), 64 writers", Engine: engine, Value: l.String()})
	l = Load(ctx, 64, size, func(ctx context.Context, seq int64) error {
		_, err := s.Get(ctx, core.Key{PK: fmt.Sprintf("bench#w64#%d", seq%1024), SK: fmt.Sprint(seq % size)})
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		return err
	})
	if l.Errors > 0 {
		return fmt.Errorf("get: %d errors", l.Errors)
	}
	r.Add(Row{Measure: "consistent get, 64 readers", Engine: engine, Value: l.String()})
	limit := size / 2
	var ok int64
	hot := core.Key{PK: "bench#hot", SK: "code"}
	l = Load(ctx, 64, size, func(ctx context.Context, seq int64) error {
		_, err := s.Update(ctx, core.Update{Key: hot, Adds: []core.Add{core.AddUpTo("used", 1, limit)}})
		if errors.Is(err, core.ErrConditionFailed) {
			return nil // over the limit: an expected refusal
		}
		return err
	})
	if l.Errors > 0 {
		return fmt.Errorf("hot add: %d errors", l.Errors)
	}
	it, err := s.Get(ctx, hot)
	if err != nil {
		return err
	}
	ok = it.Num("used")
	if ok != limit {
		return fmt.Errorf("hot add: counter %d, want %d", ok, limit)
	}
	r.Add(Row{Measure: fmt.Sprintf("bounded add on one hot item (limit %d of %d), 64 writers", limit, size), Engine: engine, Value: l.String()})
	if d, isDynamo := s.(*dynamo.Store); isDynamo {
		for _, kind := range []string{"put", "transact", "get", "update"} {
			u := d.Usage()[kind]
			if u.Calls == 0 {
				continue
			}
			r.Add(Row{Measure: "capacity units per " + kind + " call", Engine: engine,
				Value: fmt.Sprintf("%.2f WCU, %.2f RCU", u.Write/float64(u.Calls), u.Read/float64(u.Calls)),
				Note:  fmt.Sprintf("%d calls, %s", u.Calls, unitsSource(kind))})
		}
	}
	return nil
}

// unitsSource says where a kind's capacity figures come from.
func unitsSource(kind string) string {
	if kind == "transact" {
		return "by DynamoDB's billing rule from the items sent (2 per started KB of each item): DynamoDB Local reports a flat 4 WCU per transaction"
	}
	return "from ReturnConsumedCapacity"
}
