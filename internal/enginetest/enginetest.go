// Package enginetest runs a test on both storage engines: the embedded
// engine in a temporary directory and DynamoDB Local on a fresh table. A
// package using it needs
//
//	func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }
package enginetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/infra/embedded"
	"github.com/promorelay/promorelay/internal/dynamolocal"
)

var tables atomic.Int64

// Embedded opens an embedded store in t's temporary directory.
func Embedded(t testing.TB, clock core.Clock) core.Store {
	t.Helper()
	s, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Clock: clock, SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Dynamo opens a store on a new table of the shared DynamoDB Local.
func Dynamo(t testing.TB, clock core.Clock) core.Store {
	t.Helper()
	s, err := dynamo.New(context.Background(), dynamo.Config{
		Table:       fmt.Sprintf("test-%d", tables.Add(1)),
		Endpoint:    dynamolocal.Shared(t),
		CreateTable: true,
		Clock:       clock,
		MaxAttempts: 20,
		// A test clock is not the wall clock that DynamoDB Local deletes
		// expired items by.
		KeepExpired: clock != nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Dropping the table keeps DynamoDB Local fast over a long test run
	// (it slows as in-memory tables pile up).
	t.Cleanup(func() {
		d := s
		_, _ = d.Client().DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: aws.String(d.Table())})
	})
	return s
}

// RunAt runs fn once per engine as subtests "embedded" and "dynamo", each
// with a fresh manual clock at start that the store reads too.
func RunAt(t *testing.T, start time.Time, fn func(t *testing.T, s core.Store, clock *core.ManualClock)) {
	t.Run("embedded", func(t *testing.T) {
		clock := core.NewManualClock(start)
		fn(t, Embedded(t, clock), clock)
	})
	t.Run("dynamo", func(t *testing.T) {
		clock := core.NewManualClock(start)
		fn(t, Dynamo(t, clock), clock)
	})
}

// Run runs fn once per engine as subtests "embedded" and "dynamo".
func Run(t *testing.T, clock core.Clock, fn func(t *testing.T, s core.Store)) {
	t.Run("embedded", func(t *testing.T) { fn(t, Embedded(t, clock)) })
	t.Run("dynamo", func(t *testing.T) { fn(t, Dynamo(t, clock)) })
}
