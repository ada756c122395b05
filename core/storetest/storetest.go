// Package storetest is the conformance suite of core.Store: the definition of
// the storage port. Every engine runs it unchanged.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Start is the clock every store of the suite starts at.
var Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Opener returns a new, empty store that reads time from clock. It registers
// its own cleanup with t.
type Opener func(t *testing.T, clock core.Clock) core.Store

// Run runs the whole conformance suite against the engine open makes.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store, clock *core.ManualClock)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetRoundTrip", testPutGetRoundTrip},
		{"PutReplacesWholeItem", testPutReplaces},
		{"Conditions", testConditions},
		{"TransactionAllOrNothing", testAllOrNothing},
		{"Transaction100Ops", testHundredOps},
		{"TransactionLimits", testTransactionLimits},
		{"UpdateCreatesAndAdds", testUpdate},
		{"UpdateBounds", testUpdateBounds},
		{"UpdateInTransaction", testUpdateInTransaction},
		{"Delete", testDelete},
		{"BatchGet", testBatchGet},
		{"QueryPrefixAndRange", testQuerySelection},
		{"QueryPaging", testQueryPaging},
		{"QueryPartitionIsolation", testQueryIsolation},
		{"QueryValidation", testQueryValidation},
		{"TimeToLive", testTTL},
		{"TimeToLiveUpdateRestarts", testTTLUpdate},
		{"TimeToLivePaging", testTTLPaging},
		{"Validation", testValidation},
		{"CanceledContext", testCanceled},
		{"ContentionBoundedAdd", testContentionBoundedAdd},
		{"ContentionVersionedRMW", testContentionRMW},
		{"ContentionTransactions", testContentionTx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := core.NewManualClock(Start)
			s := open(t, clock)
			tc.fn(t, s, clock)
		})
	}
}

func key(pk, sk string) core.Key { return core.Key{PK: pk, SK: sk} }

func mustPut(t *testing.T, s core.Store, it core.Item, conds ...core.Cond) {
	t.Helper()
	if err := s.Write(context.Background(), core.Put(it, conds...)); err != nil {
		t.Fatalf("put %s: %v", it.Key, err)
	}
}

func mustGet(t *testing.T, s core.Store, k core.Key) core.Item {
	t.Helper()
	it, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	return it
}

func mustMissing(t *testing.T, s core.Store, k core.Key) {
	t.Helper()
	_, err := s.Get(context.Background(), k)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("get %s: got err %v, want not found", k, err)
	}
}

func wantCode(t *testing.T, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func equalItems(t *testing.T, got, want core.Item) {
	t.Helper()
	if len(got.Nums) == 0 {
		got.Nums = nil
	}
	if len(want.Nums) == 0 {
		want.Nums = nil
	}
	if len(got.Data) == 0 {
		got.Data = nil
	}
	if len(want.Data) == 0 {
		want.Data = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("item mismatch\n got: %+v\nwant: %+v", got, want)
	}
}

func testGetMissing(t *testing.T, s core.Store, _ *core.ManualClock) {
	mustMissing(t, s, key("p", "nothing"))
	if err := core.ErrorCode(getErr(s, key("p", "nothing"))); err != core.CodeNotFound {
		t.Fatalf("code %q, want not_found", err)
	}
}

func getErr(s core.Store, k core.Key) error {
	_, err := s.Get(context.Background(), k)
	return err
}

func testPutGetRoundTrip(t *testing.T, s core.Store, clock *core.ManualClock) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	items := []core.Item{
		{Key: key("P#1", "A"), Version: 1, Data: []byte(`{"a":1}`)},
		{Key: key("P#1", "B#é#日本"), Version: 7, Data: all, Nums: map[string]int64{"used": 3, "balance": -2500, "max_i": 1<<62 + 5}},
		{Key: key("P#2 with spaces", "sk\x00nul"), Version: 0, Nums: map[string]int64{"zero": 0}},
		{Key: key("P#3", "ttl"), Version: 2, Data: []byte("x"), ExpiresAt: Start.Add(time.Hour).Unix()},
	}
	for _, it := range items {
		mustPut(t, s, it)
	}
	for _, it := range items {
		equalItems(t, mustGet(t, s, it.Key), it)
	}
}

func testPutReplaces(t *testing.T, s core.Store, _ *core.ManualClock) {
	k := key("p", "r")
	mustPut(t, s, core.Item{Key: k, Version: 1, Data: []byte("old"), Nums: map[string]int64{"a": 1, "b": 2}, ExpiresAt: Start.Add(time.Hour).Unix()})
	want := core.Item{Key: k, Version: 2, Nums: map[string]int64{"c": 3}}
	mustPut(t, s, want)
	equalItems(t, mustGet(t, s, k), want)
}

func testConditions(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	k := key("p", "c")
	absent := key("p", "absent")
	mustPut(t, s, core.Item{Key: k, Version: 5, Nums: map[string]int64{"n": 10}})
	cases := []struct {
		name  string
		conds []core.Cond
		onK   bool // true: existing item; false: the absent key
		holds bool
	}{
		{"exists/present", []core.Cond{core.IfExists()}, true, true},
		{"exists/absent", []core.Cond{core.IfExists()}, false, false},
		{"not exists/present", []core.Cond{core.IfNotExists()}, true, false},
		{"not exists/absent", []core.Cond{core.IfNotExists()}, false, true},
		{"version equal", []core.Cond{core.IfVersion(5)}, true, true},
		{"version differs", []core.Cond{core.IfVersion(4)}, true, false},
		{"version/absent", []core.Cond{core.IfVersion(0)}, false, false},
		{"num =", []core.Cond{core.IfNum("n", core.EQ, 10)}, true, true},
		{"num = false", []core.Cond{core.IfNum("n", core.EQ, 11)}, true, false},
		{"num <>", []core.Cond{core.IfNum("n", core.NE, 11)}, true, true},
		{"num <> false", []core.Cond{core.IfNum("n", core.NE, 10)}, true, false},
		{"num <", []core.Cond{core.IfNum("n", core.LT, 11)}, true, true},
		{"num < false", []core.Cond{core.IfNum("n", core.LT, 10)}, true, false},
		{"num <=", []core.Cond{core.IfNum("n", core.LE, 10)}, true, true},
		{"num <= false", []core.Cond{core.IfNum("n", core.LE, 9)}, true, false},
		{"num >", []core.Cond{core.IfNum("n", core.GT, 9)}, true, true},
		{"num > false", []core.Cond{core.IfNum("n", core.GT, 10)}, true, false},
		{"num >=", []core.Cond{core.IfNum("n", core.GE, 10)}, true, true},
		{"num >= false", []core.Cond{core.IfNum("n", core.GE, 11)}, true, false},
		{"num negative", []core.Cond{core.IfNum("n", core.GT, -5)}, true, true},
		{"missing attr fails =", []core.Cond{core.IfNum("other", core.EQ, 0)}, true, false},
		{"missing attr fails <>", []core.Cond{core.IfNum("other", core.NE, 1)}, true, false},
		{"num on absent item", []core.Cond{core.IfNum("n", core.GE, 0)}, false, false},
		{"and: both hold", []core.Cond{core.IfVersion(5), core.IfNum("n", core.EQ, 10)}, true, true},
		{"and: one fails", []core.Cond{core.IfVersion(5), core.IfNum("n", core.EQ, 9)}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := absent
			if tc.onK {
				target = k
			}
			check := func(err error, what string) {
				t.Helper()
				if tc.holds && err != nil {
					t.Fatalf("%s: condition should hold, got %v", what, err)
				}
				if !tc.holds {
					wantCode(t, err, core.ErrConditionFailed)
					if got := core.FailedIndex(err); got != 0 {
						t.Fatalf("%s: FailedIndex %d, want 0", what, got)
					}
				}
			}
			// Check writes nothing either way.
			check(s.Write(ctx, core.Check(target, tc.conds...)), "check")
			// A Put of an unrelated marker in the same transaction shows all-or-nothing.
			marker := key("p", "marker-"+tc.name)
			err := s.Write(ctx, core.Check(target, tc.conds...), core.Put(core.Item{Key: marker, Version: 1}))
			if tc.holds {
				if err != nil {
					t.Fatalf("check+put: %v", err)
				}
				mustGet(t, s, marker)
			} else {
				wantCode(t, err, core.ErrConditionFailed)
				mustMissing(t, s, marker)
			}
			// The same conditions guard an Update that changes nothing visible but the version.
			before, beforeErr := s.Get(ctx, target)
			_, err = s.Update(ctx, core.Update{Key: target, Conds: tc.conds})
			check(err, "update")
			after, afterErr := s.Get(ctx, target)
			switch {
			case tc.holds && afterErr != nil:
				t.Fatalf("update: item missing after: %v", afterErr)
			case tc.holds && after.Version != before.Version+1:
				t.Fatalf("update: version %d, want %d", after.Version, before.Version+1)
			case !tc.holds && (beforeErr == nil) != (afterErr == nil):
				t.Fatalf("failed update changed existence: %v -> %v", beforeErr, afterErr)
			case !tc.holds && afterErr == nil && after.Version != before.Version:
				t.Fatalf("failed update changed version %d -> %d", before.Version, after.Version)
			}
			if tc.holds && !tc.onK {
				// Restore the absent key for the next case.
				if err := s.Write(ctx, core.Delete(target)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.holds && tc.onK {
				// Restore version 5 for the next case.
				mustPut(t, s, core.Item{Key: k, Version: 5, Nums: map[string]int64{"n": 10}})
			}
		})
	}
}

func testAllOrNothing(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	mustPut(t, s, core.Item{Key: key("p", "guard"), Version: 1})
	mustPut(t, s, core.Item{Key: key("p", "victim"), Version: 1, Data: []byte("keep")})
	err := s.Write(ctx,
		core.Put(core.Item{Key: key("p", "new1"), Version: 1}),
		core.UpdateOp(core.Update{Key: key("p", "counter"), Adds: []core.Add{core.AddBy("n", 5)}}),
		core.Delete(key("p", "victim")),
		core.Put(core.Item{Key: key("p", "new2"), Version: 1}, core.IfNotExists()),
		core.Check(key("p", "guard"), core.IfVersion(2)), // fails
	)
	wantCode(t, err, core.ErrConditionFailed)
	if got := core.FailedIndex(err); got != 4 {
		t.Fatalf("FailedIndex %d, want 4", got)
	}
	mustMissing(t, s, key("p", "new1"))
	mustMissing(t, s, key("p", "new2"))
	mustMissing(t, s, key("p", "counter"))
	if got := mustGet(t, s, key("p", "victim")); string(got.Data) != "keep" {
		t.Fatalf("victim changed: %q", got.Data)
	}
	// The same transaction with a true guard applies every operation.
	err = s.Write(ctx,
		core.Put(core.Item{Key: key("p", "new1"), Version: 1}),
		core.UpdateOp(core.Update{Key: key("p", "counter"), Adds: []core.Add{core.AddBy("n", 5)}}),
		core.Delete(key("p", "victim")),
		core.Put(core.Item{Key: key("p", "new2"), Version: 1}, core.IfNotExists()),
		core.Check(key("p", "guard"), core.IfVersion(1)),
	)
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, key("p", "new1"))
	mustGet(t, s, key("p", "new2"))
	mustMissing(t, s, key("p", "victim"))
	if n := mustGet(t, s, key("p", "counter")).Num("n"); n != 5 {
		t.Fatalf("counter %d, want 5", n)
	}
}

func testHundredOps(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	ops := make([]core.Op, 0, core.MaxTransactOps)
	for i := range core.MaxTransactOps {
		// Spread over several partitions, with sizable payloads.
		it := core.Item{Key: key(fmt.Sprintf("P#%d", i%7), fmt.Sprintf("S#%03d", i)), Version: 1, Data: bytes.Repeat([]byte{'x'}, 1000)}
		ops = append(ops, core.Put(it, core.IfNotExists()))
	}
	if err := s.Write(ctx, ops...); err != nil {
		t.Fatalf("100-op write: %v", err)
	}
	for i := range core.MaxTransactOps {
		mustGet(t, s, key(fmt.Sprintf("P#%d", i%7), fmt.Sprintf("S#%03d", i)))
	}
	// Repeating it fails on the first operation, and writes nothing new.
	ops[99] = core.Put(core.Item{Key: key("P#x", "fresh"), Version: 1}, core.IfNotExists())
	err := s.Write(ctx, ops...)
	wantCode(t, err, core.ErrConditionFailed)
	if got := core.FailedIndex(err); got != 0 {
		t.Fatalf("FailedIndex %d, want 0", got)
	}
	mustMissing(t, s, key("P#x", "fresh"))
	// A failure on the last of 100 operations is reported there.
	for i := range 99 {
		ops[i] = core.Check(key(fmt.Sprintf("P#%d", i%7), fmt.Sprintf("S#%03d", i)), core.IfExists())
	}
	ops[99] = core.Check(key("P#x", "fresh"), core.IfExists())
	err = s.Write(ctx, ops...)
	if got := core.FailedIndex(err); got != 99 {
		t.Fatalf("FailedIndex %d (err %v), want 99", got, err)
	}
}

func testTransactionLimits(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	ops := make([]core.Op, core.MaxTransactOps+1)
	for i := range ops {
		ops[i] = core.Put(core.Item{Key: key("p", fmt.Sprintf("%03d", i)), Version: 1})
	}
	wantCode(t, s.Write(ctx, ops...), core.ErrInvalid)
	mustMissing(t, s, key("p", "000"))
	wantCode(t, s.Write(ctx), core.ErrInvalid)
	// The same key twice in one transaction is refused, as DynamoDB does.
	err := s.Write(ctx,
		core.Put(core.Item{Key: key("p", "dup"), Version: 1}),
		core.UpdateOp(core.Update{Key: key("p", "dup"), Adds: []core.Add{core.AddBy("n", 1)}}))
	wantCode(t, err, core.ErrInvalid)
	mustMissing(t, s, key("p", "dup"))
	// Over 4 MB in one transaction.
	big := make([]core.Op, 12)
	for i := range big {
		big[i] = core.Put(core.Item{Key: key("p", fmt.Sprintf("big%02d", i)), Version: 1, Data: bytes.Repeat([]byte{'y'}, 390*1024)})
	}
	wantCode(t, s.Write(ctx, big...), core.ErrInvalid)
	mustMissing(t, s, key("p", "big00"))
}

func testUpdate(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	k := key("p", "u")
	got, err := s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddBy("used", 1), core.AddBy("balance", -3)}})
	if err != nil {
		t.Fatal(err)
	}
	equalItems(t, got, core.Item{Key: k, Version: 1, Nums: map[string]int64{"used": 1, "balance": -3}})
	exp := Start.Add(time.Hour).Unix()
	got, err = s.Update(ctx, core.Update{
		Key:       k,
		Adds:      []core.Add{core.AddBy("used", 41)},
		SetNums:   map[string]int64{"limit": 200},
		Data:      []byte("payload"),
		ExpiresAt: &exp,
		Conds:     []core.Cond{core.IfVersion(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := core.Item{Key: k, Version: 2, Data: []byte("payload"), ExpiresAt: exp, Nums: map[string]int64{"used": 42, "balance": -3, "limit": 200}}
	equalItems(t, got, want)
	equalItems(t, mustGet(t, s, k), want)
	// Data is kept when the update does not name it; ExpiresAt 0 removes the TTL.
	zero := int64(0)
	got, err = s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddBy("used", -2)}, ExpiresAt: &zero})
	if err != nil {
		t.Fatal(err)
	}
	want = core.Item{Key: k, Version: 3, Data: []byte("payload"), Nums: map[string]int64{"used": 40, "balance": -3, "limit": 200}}
	equalItems(t, got, want)
	// A Put after updates sets the version back to what the writer says.
	mustPut(t, s, core.Item{Key: k, Version: 10})
	got, err = s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddBy("used", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	equalItems(t, got, core.Item{Key: k, Version: 11, Nums: map[string]int64{"used": 1}})
}

func testUpdateBounds(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	k := key("p", "b")
	// Upper bound: 0 -> 3 with max 3 works, the 4th fails and leaves 3.
	for i := 1; i <= 3; i++ {
		got, err := s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddUpTo("used", 1, 3)}})
		if err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
		if got.Num("used") != int64(i) {
			t.Fatalf("used %d, want %d", got.Num("used"), i)
		}
	}
	_, err := s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddUpTo("used", 1, 3)}})
	wantCode(t, err, core.ErrConditionFailed)
	if got := mustGet(t, s, k); got.Num("used") != 3 || got.Version != 3 {
		t.Fatalf("after failed add: %+v", got)
	}
	// A bound on a missing attribute counts it as zero: adding 5 with max 4 fails at once.
	_, err = s.Update(ctx, core.Update{Key: key("p", "b2"), Adds: []core.Add{core.AddUpTo("used", 5, 4)}})
	wantCode(t, err, core.ErrConditionFailed)
	mustMissing(t, s, key("p", "b2"))
	// Lower bound: a balance of 2500 takes debits of 1000, 1000, 500 and refuses 1 more.
	g := key("p", "gift")
	if _, err := s.Update(ctx, core.Update{Key: g, SetNums: map[string]int64{"balance": 2500}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []int64{1000, 1000, 500} {
		if _, err := s.Update(ctx, core.Update{Key: g, Adds: []core.Add{core.AddDownTo("balance", -d, 0)}}); err != nil {
			t.Fatalf("debit %d: %v", d, err)
		}
	}
	_, err = s.Update(ctx, core.Update{Key: g, Adds: []core.Add{core.AddDownTo("balance", -1, 0)}})
	wantCode(t, err, core.ErrConditionFailed)
	// Two bounded adds in one update: both must hold.
	_, err = s.Update(ctx, core.Update{Key: g, Adds: []core.Add{core.AddUpTo("used", 1, 10), core.AddDownTo("balance", -1, 0)}})
	wantCode(t, err, core.ErrConditionFailed)
	got := mustGet(t, s, g)
	if got.Num("balance") != 0 || got.Nums["used"] != 0 {
		t.Fatalf("after failed double add: %+v", got)
	}
	if _, ok := got.Nums["used"]; ok {
		t.Fatalf("failed update created attribute: %+v", got)
	}
	// Both bounds at once on one attribute.
	both := core.Add{Attr: "n", Delta: 7}
	lo, hi := int64(0), int64(10)
	both.Min, both.Max = &lo, &hi
	if _, err := s.Update(ctx, core.Update{Key: key("p", "range"), Adds: []core.Add{both}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, core.Update{Key: key("p", "range"), Adds: []core.Add{both}})
	wantCode(t, err, core.ErrConditionFailed)
}

func testUpdateInTransaction(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	code := key("p", "code")
	red := key("p", "redemption#1")
	redeem := func(rk core.Key) error {
		return s.Write(ctx,
			core.UpdateOp(core.Update{Key: code, Adds: []core.Add{core.AddUpTo("used", 1, 2)}}),
			core.Put(core.Item{Key: rk, Version: 1}, core.IfNotExists()))
	}
	if err := redeem(red); err != nil {
		t.Fatal(err)
	}
	// The same redemption again fails on its second operation; the counter stays.
	err := redeem(red)
	wantCode(t, err, core.ErrConditionFailed)
	if core.FailedIndex(err) != 1 {
		t.Fatalf("FailedIndex %d, want 1", core.FailedIndex(err))
	}
	if err := redeem(key("p", "redemption#2")); err != nil {
		t.Fatal(err)
	}
	err = redeem(key("p", "redemption#3"))
	wantCode(t, err, core.ErrConditionFailed)
	if core.FailedIndex(err) != 0 {
		t.Fatalf("FailedIndex %d, want 0", core.FailedIndex(err))
	}
	mustMissing(t, s, key("p", "redemption#3"))
	if got := mustGet(t, s, code); got.Num("used") != 2 || got.Version != 2 {
		t.Fatalf("code: %+v", got)
	}
}

func testDelete(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	if err := s.Write(ctx, core.Delete(key("p", "none"))); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	wantCode(t, s.Write(ctx, core.Delete(key("p", "none"), core.IfExists())), core.ErrConditionFailed)
	mustPut(t, s, core.Item{Key: key("p", "d"), Version: 3})
	wantCode(t, s.Write(ctx, core.Delete(key("p", "d"), core.IfVersion(2))), core.ErrConditionFailed)
	mustGet(t, s, key("p", "d"))
	if err := s.Write(ctx, core.Delete(key("p", "d"), core.IfVersion(3))); err != nil {
		t.Fatal(err)
	}
	mustMissing(t, s, key("p", "d"))
}

func testBatchGet(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	var keys []core.Key
	for i := range core.MaxBatchGet {
		k := key(fmt.Sprintf("P#%d", i%3), fmt.Sprintf("S#%03d", i))
		keys = append(keys, k)
		if i%2 == 0 {
			mustPut(t, s, core.Item{Key: k, Version: int64(i), Data: bytes.Repeat([]byte{'z'}, 5000)})
		}
	}
	got, err := s.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("got %d items, want 50", len(got))
	}
	for i, k := range keys {
		it, ok := got[k]
		if ok != (i%2 == 0) {
			t.Fatalf("%s present=%v", k, ok)
		}
		if ok && (it.Version != int64(i) || len(it.Data) != 5000 || it.Key != k) {
			t.Fatalf("%s: %+v", k, it.Key)
		}
	}
	empty, err := s.BatchGet(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty batch: %v %v", empty, err)
	}
	_, err = s.BatchGet(ctx, append(keys, key("p", "one-too-many")))
	wantCode(t, err, core.ErrInvalid)
	_, err = s.BatchGet(ctx, []core.Key{keys[0], keys[0]})
	wantCode(t, err, core.ErrInvalid)
}

func seed(t *testing.T, s core.Store, pk string, sks []string) {
	t.Helper()
	ops := make([]core.Op, 0, len(sks))
	for _, sk := range sks {
		ops = append(ops, core.Put(core.Item{Key: key(pk, sk), Version: 1, Data: []byte(sk)}))
	}
	for len(ops) > 0 {
		n := min(len(ops), core.MaxTransactOps)
		if err := s.Write(context.Background(), ops[:n]...); err != nil {
			t.Fatal(err)
		}
		ops = ops[n:]
	}
}

func sks(items []core.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.SK
	}
	return out
}

func reversed(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[len(in)-1-i] = s
	}
	return out
}

func testQuerySelection(t *testing.T, s core.Store, _ *core.ManualClock) {
	all := []string{"A", "B#1", "B#2", "B#20", "B#3", "C", "C#1", "Ca", "D"}
	seed(t, s, "q", all)
	cases := []struct {
		name string
		q    core.Query
		want []string
	}{
		{"all", core.Query{PK: "q"}, all},
		{"prefix", core.Query{PK: "q", Prefix: "B#"}, []string{"B#1", "B#2", "B#20", "B#3"}},
		{"prefix B#2", core.Query{PK: "q", Prefix: "B#2"}, []string{"B#2", "B#20"}},
		{"prefix C", core.Query{PK: "q", Prefix: "C"}, []string{"C", "C#1", "Ca"}},
		{"prefix none", core.Query{PK: "q", Prefix: "Z"}, nil},
		{"prefix whole key", core.Query{PK: "q", Prefix: "D"}, []string{"D"}},
		{"range", core.Query{PK: "q", From: "B#2", To: "C#1"}, []string{"B#2", "B#20", "B#3", "C", "C#1"}},
		{"range between keys", core.Query{PK: "q", From: "B#25", To: "Cb"}, []string{"B#3", "C", "C#1", "Ca"}},
		{"from only", core.Query{PK: "q", From: "C#1"}, []string{"C#1", "Ca", "D"}},
		{"to only", core.Query{PK: "q", To: "B#1"}, []string{"A", "B#1"}},
		{"single point", core.Query{PK: "q", From: "C", To: "C"}, []string{"C"}},
		{"empty range", core.Query{PK: "q", From: "E", To: "F"}, nil},
		{"empty partition", core.Query{PK: "nothing"}, nil},
	}
	for _, tc := range cases {
		for _, rev := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reverse=%v", tc.name, rev), func(t *testing.T) {
				q := tc.q
				q.Reverse = rev
				p, err := s.Query(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if rev {
					want = reversed(want)
				}
				if got := sks(p.Items); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("got %q, want %q", got, want)
				}
				if p.Next != "" {
					t.Fatalf("unexpected cursor %q", p.Next)
				}
				for _, it := range p.Items {
					if string(it.Data) != it.SK || it.PK != "q" || it.Version != 1 {
						t.Fatalf("item content: %+v", it)
					}
				}
			})
		}
	}
}

func queryAll(t *testing.T, s core.Store, q core.Query) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	for {
		p, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(p.Items) > q.PageLimit() {
			t.Fatalf("page of %d items, limit %d", len(p.Items), q.PageLimit())
		}
		if p.Next != "" && len(p.Items) != q.PageLimit() {
			t.Fatalf("short page (%d of %d) with a cursor", len(p.Items), q.PageLimit())
		}
		out = append(out, sks(p.Items)...)
		if p.Next == "" {
			return out, pages
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		q.Cursor = p.Next
	}
}

func testQueryPaging(t *testing.T, s core.Store, _ *core.ManualClock) {
	var all []string
	for i := range 25 {
		all = append(all, fmt.Sprintf("K#%02d", i))
	}
	seed(t, s, "pg", append(append([]string{}, all...), "J", "L"))
	for _, limit := range []int{1, 2, 7, 24, 25, 26, 100} {
		for _, rev := range []bool{false, true} {
			t.Run(fmt.Sprintf("limit=%d/reverse=%v", limit, rev), func(t *testing.T) {
				got, pages := queryAll(t, s, core.Query{PK: "pg", Prefix: "K#", Limit: limit, Reverse: rev})
				want := all
				if rev {
					want = reversed(all)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got %q\nwant %q", got, want)
				}
				// Next is empty exactly when nothing follows: no trailing empty page.
				if wantPages := (25 + limit - 1) / limit; pages != wantPages {
					t.Fatalf("%d pages, want %d", pages, wantPages)
				}
				gotR, _ := queryAll(t, s, core.Query{PK: "pg", From: "K#05", To: "K#19", Limit: limit, Reverse: rev})
				wantR := all[5:20]
				if rev {
					wantR = reversed(wantR)
				}
				if !reflect.DeepEqual(gotR, wantR) {
					t.Fatalf("range: got %q\nwant %q", gotR, wantR)
				}
			})
		}
	}
	// A cursor stays valid when the item it names is deleted meanwhile.
	p, err := s.Query(context.Background(), core.Query{PK: "pg", Prefix: "K#", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), core.Delete(key("pg", "K#04"))); err != nil {
		t.Fatal(err)
	}
	p2, err := s.Query(context.Background(), core.Query{PK: "pg", Prefix: "K#", Limit: 3, Cursor: p.Next})
	if err != nil {
		t.Fatal(err)
	}
	if got := sks(p2.Items); !reflect.DeepEqual(got, []string{"K#05", "K#06", "K#07"}) {
		t.Fatalf("after deleted cursor item: %q", got)
	}
}

func testQueryIsolation(t *testing.T, s core.Store, _ *core.ManualClock) {
	seed(t, s, "a", []string{"1", "2"})
	seed(t, s, "ab", []string{"1"})
	seed(t, s, "a#", []string{"x"})
	seed(t, s, "b", []string{"1"})
	for pk, want := range map[string][]string{"a": {"1", "2"}, "ab": {"1"}, "a#": {"x"}, "b": {"1"}} {
		for _, rev := range []bool{false, true} {
			p, err := s.Query(context.Background(), core.Query{PK: pk, Reverse: rev})
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if rev {
				w = reversed(want)
			}
			if got := sks(p.Items); !reflect.DeepEqual(got, w) {
				t.Fatalf("pk %q reverse=%v: got %q want %q", pk, rev, got, w)
			}
		}
	}
}

func testQueryValidation(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	for name, q := range map[string]core.Query{
		"no pk":          {},
		"prefix & range": {PK: "p", Prefix: "a", From: "a"},
		"from > to":      {PK: "p", From: "b", To: "a"},
		"limit too big":  {PK: "p", Limit: core.MaxPageLimit + 1},
		"negative limit": {PK: "p", Limit: -1},
		"bad cursor":     {PK: "p", Cursor: "!!!"},
	} {
		_, err := s.Query(ctx, q)
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
}

func testTTL(t *testing.T, s core.Store, clock *core.ManualClock) {
	ctx := context.Background()
	exp := Start.Add(time.Minute).Unix()
	k := key("t", "session")
	mustPut(t, s, core.Item{Key: k, Version: 1, ExpiresAt: exp})
	mustPut(t, s, core.Item{Key: key("t", "keep"), Version: 1})
	mustGet(t, s, k)
	clock.Advance(59 * time.Second)
	mustGet(t, s, k)
	wantCode(t, s.Write(ctx, core.Put(core.Item{Key: k, Version: 9}, core.IfNotExists())), core.ErrConditionFailed)
	clock.Advance(time.Second) // now == ExpiresAt: expired
	mustMissing(t, s, k)
	got, err := s.BatchGet(ctx, []core.Key{k, key("t", "keep")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[k]; ok || len(got) != 1 {
		t.Fatalf("batch get sees expired item: %v", got)
	}
	p, err := s.Query(ctx, core.Query{PK: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if g := sks(p.Items); !reflect.DeepEqual(g, []string{"keep"}) {
		t.Fatalf("query sees expired item: %q", g)
	}
	wantCode(t, s.Write(ctx, core.Check(k, core.IfExists())), core.ErrConditionFailed)
	wantCode(t, s.Write(ctx, core.Check(k, core.IfVersion(1))), core.ErrConditionFailed)
	// An expired key is free again: IfNotExists holds.
	mustPut(t, s, core.Item{Key: k, Version: 2, Data: []byte("new")}, core.IfNotExists())
	equalItems(t, mustGet(t, s, k), core.Item{Key: k, Version: 2, Data: []byte("new")})
}

func testTTLUpdate(t *testing.T, s core.Store, clock *core.ManualClock) {
	ctx := context.Background()
	k := key("t", "counter")
	exp := Start.Add(time.Minute).Unix()
	if _, err := s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddBy("n", 5)}, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	// An update of an expired item starts from nothing, like an update of a missing one.
	got, err := s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddUpTo("n", 1, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	equalItems(t, got, core.Item{Key: k, Version: 1, Nums: map[string]int64{"n": 1}})
	// IfExists on an expired item fails for an update as well.
	exp2 := clock.Now().Add(time.Second).Unix()
	if _, err := s.Update(ctx, core.Update{Key: k, ExpiresAt: &exp2}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	_, err = s.Update(ctx, core.Update{Key: k, Adds: []core.Add{core.AddBy("n", 1)}, Conds: []core.Cond{core.IfExists()}})
	wantCode(t, err, core.ErrConditionFailed)
	// ... and inside a transaction the expired item also starts from nothing.
	err = s.Write(ctx, core.UpdateOp(core.Update{Key: k, Adds: []core.Add{core.AddUpTo("n", 1, 1)}}), core.Put(core.Item{Key: key("t", "other"), Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	equalItems(t, mustGet(t, s, k), core.Item{Key: k, Version: 1, Nums: map[string]int64{"n": 1}})
}

func testTTLPaging(t *testing.T, s core.Store, clock *core.ManualClock) {
	// Expired items between live ones never shorten a page or leave a false cursor.
	var live []string
	ops := []core.Op{}
	for i := range 40 {
		it := core.Item{Key: key("tp", fmt.Sprintf("%02d", i)), Version: 1}
		if i%4 != 0 {
			it.ExpiresAt = Start.Add(time.Second).Unix()
		} else {
			live = append(live, it.SK)
		}
		ops = append(ops, core.Put(it))
	}
	if err := s.Write(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, limit := range []int{1, 3, 10} {
		for _, rev := range []bool{false, true} {
			got, pages := queryAll(t, s, core.Query{PK: "tp", Limit: limit, Reverse: rev})
			want := live
			if rev {
				want = reversed(live)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d: got %q want %q", limit, got, want)
			}
			if wantPages := (len(live) + limit - 1) / limit; pages != wantPages {
				t.Fatalf("limit %d: %d pages, want %d", limit, pages, wantPages)
			}
		}
	}
}

func testValidation(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx := context.Background()
	bad := map[string]core.Op{
		"empty pk":       core.Put(core.Item{Key: key("", "s"), Version: 1}),
		"empty sk":       core.Put(core.Item{Key: key("p", ""), Version: 1}),
		"pk too long":    core.Put(core.Item{Key: key(strings.Repeat("p", core.MaxPKBytes+1), "s"), Version: 1}),
		"sk too long":    core.Put(core.Item{Key: key("p", strings.Repeat("s", core.MaxSKBytes+1)), Version: 1}),
		"not utf8":       core.Put(core.Item{Key: key("p", "\xff"), Version: 1}),
		"item too large": core.Put(core.Item{Key: key("p", "big"), Version: 1, Data: make([]byte, core.MaxItemBytes)}),
		"reserved attr":  core.Put(core.Item{Key: key("p", "r"), Version: 1, Nums: map[string]int64{"ttl": 1}}),
		"bad attr":       core.Put(core.Item{Key: key("p", "r"), Version: 1, Nums: map[string]int64{"Bad-Name": 1}}),
		"bad cmp":        core.Put(core.Item{Key: key("p", "r"), Version: 1}, core.IfNum("n", "~", 1)),
		"attr twice":     core.UpdateOp(core.Update{Key: key("p", "r"), Adds: []core.Add{core.AddBy("n", 1), core.AddBy("n", 2)}}),
		"negative ttl":   core.Put(core.Item{Key: key("p", "r"), Version: 1, ExpiresAt: -1}),
	}
	for name, op := range bad {
		err := s.Write(ctx, op)
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	p, err := s.Query(ctx, core.Query{PK: "p"})
	if err != nil || len(p.Items) != 0 {
		t.Fatalf("invalid writes left items: %v %v", p.Items, err)
	}
	_, err = s.Update(ctx, core.Update{Key: key("p", ""), Adds: []core.Add{core.AddBy("n", 1)}})
	wantCode(t, err, core.ErrInvalid)
	_, err = s.Get(ctx, key("", ""))
	wantCode(t, err, core.ErrInvalid)
	// The largest allowed item round-trips.
	it := core.Item{Key: key("p", "max"), Version: 1}
	it.Data = make([]byte, core.MaxItemBytes-it.Size()-1)
	mustPut(t, s, it)
	if got := mustGet(t, s, it.Key); len(got.Data) != len(it.Data) {
		t.Fatalf("large item: %d bytes back", len(got.Data))
	}
}

func testCanceled(t *testing.T, s core.Store, _ *core.ManualClock) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Write(ctx, core.Put(core.Item{Key: key("p", "c"), Version: 1}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("write with canceled context: %v", err)
	}
	_, err = s.Update(ctx, core.Update{Key: key("p", "c"), Adds: []core.Add{core.AddBy("n", 1)}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("update with canceled context: %v", err)
	}
	mustMissing(t, s, key("p", "c"))
}

// testContentionBoundedAdd: 200 goroutines race bounded adds on one item with
// bound 50; exactly 50 succeed and the counter ends at 50.
func testContentionBoundedAdd(t *testing.T, s core.Store, _ *core.ManualClock) {
	const workers, bound = 200, 50
	k := key("hot", "code")
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				_, err := s.Update(context.Background(), core.Update{Key: k, Adds: []core.Add{core.AddUpTo("used", 1, bound)}})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, core.ErrConditionFailed):
					failed.Add(1)
				case errors.Is(err, core.ErrThrottled), errors.Is(err, core.ErrConflict):
					continue // retryable by contract
				default:
					errs <- err
				}
				return
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() != bound || failed.Load() != workers-bound {
		t.Fatalf("%d succeeded, %d failed; want %d and %d", ok.Load(), failed.Load(), bound, workers-bound)
	}
	if got := mustGet(t, s, k); got.Num("used") != bound || got.Version != bound {
		t.Fatalf("counter %d version %d, want %d", got.Num("used"), got.Version, bound)
	}
}

// testContentionRMW: 64 goroutines each add to a JSON-free payload counter by
// version-checked read-modify-write, retrying on condition failure; no
// increment is lost.
func testContentionRMW(t *testing.T, s core.Store, _ *core.ManualClock) {
	const workers, each = 64, 3
	k := key("hot", "profile")
	mustPut(t, s, core.Item{Key: k, Version: 1, Data: []byte("0")})
	var wg sync.WaitGroup
	var retries atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					cur, err := s.Get(context.Background(), k)
					if err != nil {
						errs <- err
						return
					}
					var n int
					fmt.Sscan(string(cur.Data), &n)
					next := core.Item{Key: k, Version: cur.Version + 1, Data: []byte(fmt.Sprint(n + 1))}
					err = s.Write(context.Background(), core.Put(next, core.IfVersion(cur.Version)))
					if err == nil {
						break
					}
					if !errors.Is(err, core.ErrConditionFailed) && !errors.Is(err, core.ErrConflict) && !errors.Is(err, core.ErrThrottled) {
						errs <- err
						return
					}
					retries.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustGet(t, s, k)
	if string(got.Data) != fmt.Sprint(workers*each) || got.Version != workers*each+1 {
		t.Fatalf("counter %s version %d, want %d and %d (%d retries)", got.Data, got.Version, workers*each, workers*each+1, retries.Load())
	}
	t.Logf("%d increments, %d retries", workers*each, retries.Load())
}

// testContentionTx: transactions that touch a shared item and a private one
// race; every one either applies whole or not at all.
func testContentionTx(t *testing.T, s core.Store, _ *core.ManualClock) {
	const workers = 32
	pool := key("hot", "pool")
	var wg sync.WaitGroup
	var applied atomic.Int64
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := s.Write(context.Background(),
					core.UpdateOp(core.Update{Key: pool, Adds: []core.Add{core.AddUpTo("taken", 1, 20)}}),
					core.Put(core.Item{Key: key("hot", fmt.Sprintf("claim#%02d", i)), Version: 1}, core.IfNotExists()))
				switch {
				case err == nil:
					applied.Add(1)
				case errors.Is(err, core.ErrConflict), errors.Is(err, core.ErrThrottled):
					continue
				case errors.Is(err, core.ErrConditionFailed):
				default:
					errs <- err
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p, err := s.Query(context.Background(), core.Query{PK: "hot", Prefix: "claim#"})
	if err != nil {
		t.Fatal(err)
	}
	taken := mustGet(t, s, pool).Num("taken")
	if applied.Load() != 20 || taken != 20 || len(p.Items) != 20 {
		t.Fatalf("applied %d, counter %d, claims %d; want 20 each", applied.Load(), taken, len(p.Items))
	}
	claimed := sks(p.Items)
	sort.Strings(claimed)
	t.Logf("claims: %v", claimed)
}
