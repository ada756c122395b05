package dynamo_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/storetest"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// open returns a store on a fresh table of the shared DynamoDB Local.
func open(t *testing.T, clock core.Clock) *dynamo.Store {
	t.Helper()
	return enginetest.Dynamo(t, clock).(*dynamo.Store)
}

func TestDynamoConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock core.Clock) core.Store { return open(t, clock) })
}

// TestUsageCounted checks that consumed capacity is counted per operation
// kind: a plain put of a small item costs 1 write unit, a two-item
// transaction 4 (DynamoDB doubles units inside transactions).
func TestUsageCounted(t *testing.T) {
	ctx := context.Background()
	s := open(t, core.SystemClock{})
	if err := s.Write(ctx, core.Put(core.Item{Key: core.Key{PK: "p", SK: "a"}, Version: 1})); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx,
		core.Put(core.Item{Key: core.Key{PK: "p", SK: "b"}, Version: 1}),
		core.UpdateOp(core.Update{Key: core.Key{PK: "p", SK: "c"}, Adds: []core.Add{core.AddBy("n", 1)}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, core.Key{PK: "p", SK: "a"}); err != nil {
		t.Fatal(err)
	}
	u := s.Usage()
	if got := u["put"]; got.Calls != 1 || got.Write != 1 {
		t.Errorf("put usage %+v, want 1 call, 1 WCU", got)
	}
	if got := u["transact"]; got.Calls != 1 || got.Write != 4 {
		t.Errorf("transact usage %+v, want 1 call, 4 WCU", got)
	}
	if got := u["get"]; got.Calls != 1 || got.Read != 1 {
		t.Errorf("get usage %+v, want 1 call, 1 RCU (consistent read)", got)
	}
	s.ResetUsage()
	if len(s.Usage()) != 0 {
		t.Error("ResetUsage left counters")
	}
}

func TestConfigValidate(t *testing.T) {
	err := dynamo.Config{Endpoint: "::bad", MaxAttempts: -1}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"table name is required", "not a URL", "MaxAttempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestTransactWriteUnits: two units per started KB of each item.
func TestTransactWriteUnits(t *testing.T) {
	small := core.Put(core.Item{Key: core.Key{PK: "a", SK: "b"}, Version: 1, Data: []byte("x")})
	big := core.Put(core.Item{Key: core.Key{PK: "a", SK: "c"}, Version: 1, Data: make([]byte, 1500)})
	del := core.Delete(core.Key{PK: "a", SK: "d"})
	check := core.Check(core.Key{PK: "a", SK: "e"}, core.IfExists())
	for _, c := range []struct {
		ops  []core.Op
		want float64
	}{
		{[]core.Op{small, del}, 4},
		{[]core.Op{small, big}, 6},
		{[]core.Op{small, del, check}, 6},
	} {
		if got := dynamo.TransactWriteUnits(c.ops); got != c.want {
			t.Errorf("%d ops: %.0f units, want %.0f", len(c.ops), got, c.want)
		}
	}
}
