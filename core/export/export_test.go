package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

const proj = "proj_exports"

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// run runs fn on both engines, each with its own manual clock at t0 (the
// stores' time-to-live reads it too).
func run(t *testing.T, fn func(t *testing.T, s core.Store, clock *core.ManualClock)) {
	enginetest.RunAt(t, t0, fn)
}

// fixture is an app over one engine with n orders, one minute apart:
// o-000 … with amount 1000×(i+1) and metadata {"n": i, "pad": pad}.
type fixture struct {
	app   *app.App
	clock *core.ManualClock
	store core.Store
}

func newFixture(t *testing.T, s core.Store, clock *core.ManualClock, n int, pad string) *fixture {
	t.Helper()
	a := app.New(s, clock)
	t.Cleanup(func() { _ = a.Close() })
	for i := range n {
		clock.Advance(time.Minute)
		o := customer.Order{Source: "api", DeliveryID: fmt.Sprintf("d-%d", i), Transition: customer.OrderPaid,
			Status: customer.OrderPaid, ID: fmt.Sprintf("o-%03d", i), Amount: int64(1000 * (i + 1)),
			Customer: customer.OrderCustomer{ID: fmt.Sprintf("c-%d", i%3)}, At: clock.Now(),
			Metadata: map[string]any{"n": i, "pad": pad}}
		if _, _, err := a.Audience.ApplyOrder(context.Background(), proj, o); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{app: a, clock: clock, store: s}
}

// download returns an export's file as CSV rows.
func (f *fixture) download(t *testing.T, e export.Export) [][]string {
	t.Helper()
	if e.Status != export.StatusDone || e.Result == nil {
		t.Fatalf("export %s is %s, result %+v", e.ID, e.Status, e.Result)
	}
	_, token, ok := strings.Cut(e.Result.URL, "/v1/exports/"+e.ID+"/download?token=")
	if !ok {
		t.Fatalf("result.url = %s", e.Result.URL)
	}
	var buf bytes.Buffer
	var began export.Export
	if err := f.app.Exports.Download(context.Background(), e.ID, token, func(x export.Export) { began = x }, &buf); err != nil {
		t.Fatal(err)
	}
	if began.ID != e.ID {
		t.Fatalf("Download began with %+v", began)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// finished waits for the background run and returns the export.
func (f *fixture) finished(t *testing.T, id string) export.Export {
	t.Helper()
	f.app.Exports.Workers.Wait()
	e, err := f.app.Exports.Get(context.Background(), proj, id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestOrderExport: fields, filters, order and cell formats of an order
// export, and its download link.
func TestOrderExport(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		f := newFixture(t, s, clock, 5, "x")
		e, err := f.app.Exports.Create(ctx, proj, "order", export.Parameters{
			Order:   "created_at",
			Fields:  []string{"source_id", "amount", "created_at", "metadata.n", "total_amount", "status"},
			Filters: json.RawMessage(`{"junction":"or","amount":{"conditions":{"$more_than_equal":4000}},"source_id":{"conditions":{"$is":"o-000"}}}`),
		}, "https://promo.example")
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != export.StatusScheduled || e.Result != nil || e.Object != "export" || e.Channel != "API" || e.ExportedObject != "order" {
			t.Fatalf("created export = %+v", e)
		}
		e = f.finished(t, e.ID)
		if e.Rows != 3 || !strings.HasPrefix(e.Result.URL, "https://promo.example/v1/exports/"+e.ID+"/download?token=") {
			t.Fatalf("finished export = %+v %+v", e, e.Result)
		}
		want := [][]string{
			{"source_id", "amount", "created_at", "metadata.n", "total_amount", "status"},
			{"o-000", "1000", "2026-11-02T10:01:00.000Z", "0", "", "PAID"},
			{"o-003", "4000", "2026-11-02T10:04:00.000Z", "3", "", "PAID"},
			{"o-004", "5000", "2026-11-02T10:05:00.000Z", "4", "", "PAID"},
		}
		if got := f.download(t, e); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("file = %q, want %q", got, want)
		}

		// Defaults: id, source_id and status, newest first.
		d, err := f.app.Exports.Create(ctx, proj, "order", export.Parameters{}, "http://x")
		if err != nil {
			t.Fatal(err)
		}
		rows := f.download(t, f.finished(t, d.ID))
		if !slices.Equal(rows[0], []string{"id", "source_id", "status"}) || len(rows) != 6 || rows[1][1] != "o-004" || rows[5][1] != "o-000" {
			t.Fatalf("default export = %q", rows)
		}
		list, _, err := f.app.Exports.List(ctx, proj, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != d.ID || list[1].ID != e.ID {
			t.Fatalf("list = %+v", list)
		}
	})
}

// TestExportRefusals: bad requests are refused whole and write nothing;
// links need their token; a file is served only when done; deletion
// removes the export and its file; another project sees none of it.
func TestExportRefusals(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		f := newFixture(t, s, clock, 2, "x")
		for _, c := range []struct {
			name, object string
			params       export.Parameters
			key          string
		}{
			{"unknown object", "voucher", export.Parameters{}, "unsupported_parameter"},
			{"unknown field", "order", export.Parameters{Fields: []string{"id", "colour"}}, "invalid_payload"},
			{"field twice", "order", export.Parameters{Fields: []string{"id", "id"}}, "invalid_payload"},
			{"unserved order", "order", export.Parameters{Order: "-status"}, "unsupported_parameter"},
			{"bad filter", "order", export.Parameters{Filters: json.RawMessage(`{"amount":{"conditions":{"$is":"ten"}}}`)}, export.KeyInvalidFilter},
		} {
			_, err := f.app.Exports.Create(ctx, proj, c.object, c.params, "http://x")
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != core.CodeInvalid || ce.Key != c.key {
				t.Errorf("%s: %v, want %s", c.name, err, c.key)
			}
		}
		if list, _, err := f.app.Exports.List(ctx, proj, 10, ""); err != nil || len(list) != 0 {
			t.Fatalf("refused requests left exports: %+v %v", list, err)
		}
		active, err := s.Query(ctx, core.Query{PK: "exports#active"})
		if err != nil || len(active.Items) != 0 {
			t.Fatalf("refused requests left active exports: %+v %v", active.Items, err)
		}

		// Not done yet: a process whose workers stopped cannot run it.
		f.app.Exports.Workers.Close()
		e, err := f.app.Exports.Create(ctx, proj, "order", export.Parameters{}, "http://x")
		if err != nil {
			t.Fatal(err)
		}
		err = f.app.Exports.Download(ctx, e.ID, "anything", func(export.Export) {}, &bytes.Buffer{})
		if core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("wrong token: %v, want not found", err)
		}
		rec, err := f.app.Exports.Get(ctx, proj, e.ID)
		if err != nil || rec.Status != export.StatusScheduled {
			t.Fatalf("export = %+v, %v", rec, err)
		}
		if _, err := f.app.Exports.Get(ctx, "proj_other", e.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("another project read the export: %v", err)
		}
		if err := f.app.Exports.Delete(ctx, "proj_other", e.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("another project deleted the export: %v", err)
		}

		// A new process resumes it; the file is served with the token only.
		g := app.New(s, f.clock)
		t.Cleanup(func() { _ = g.Close() })
		if n, err := g.Exports.Resume(ctx, 0); err != nil || n != 1 {
			t.Fatalf("Resume = %d, %v", n, err)
		}
		g.Exports.Workers.Wait()
		done, err := g.Exports.Get(ctx, proj, e.ID)
		if err != nil || done.Status != export.StatusDone {
			part, qerr := s.Query(ctx, core.Query{PK: proj + "#export#" + e.ID})
			t.Fatalf("resumed export = %+v, %v; its partition holds %+v (%v)", done, err, part.Items, qerr)
		}
		_, token, _ := strings.Cut(done.Result.URL, "token=")
		altered := token[:len(token)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(token, "0")]
		if err := g.Exports.Download(ctx, e.ID, altered, func(export.Export) {}, &bytes.Buffer{}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("altered token: %v, want not found", err)
		}
		if err := g.Exports.Delete(ctx, proj, e.ID); err != nil {
			t.Fatal(err)
		}
		if err := g.Exports.Download(ctx, e.ID, token, func(export.Export) {}, &bytes.Buffer{}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("download after delete: %v, want not found", err)
		}
		left, err := s.Query(ctx, core.Query{PK: proj + "#export#" + e.ID})
		if err != nil || len(left.Items) != 0 {
			t.Fatalf("delete left %d items: %v", len(left.Items), err)
		}
	})
}

// TestExportNotReady: a file is refused until the export is DONE.
func TestExportNotReady(t *testing.T) {
	clock := core.NewManualClock(t0)
	s := enginetest.Embedded(t, clock)
	f := newFixture(t, s, clock, 1, "x")
	f.app.Exports.Workers.Close()
	e, err := f.app.Exports.Create(context.Background(), proj, "order", export.Parameters{}, "http://x")
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.Get(context.Background(), core.Key{PK: proj + "#export#" + e.ID, SK: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Token string }
	if err := json.Unmarshal(it.Data, &rec); err != nil || rec.Token == "" {
		t.Fatalf("token: %v", err)
	}
	err = f.app.Exports.Download(context.Background(), e.ID, rec.Token, func(export.Export) {
		t.Fatal("the download began")
	}, &bytes.Buffer{})
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Key != "export_not_ready" || ce.Code != core.CodeConflict {
		t.Fatalf("download of a scheduled export: %v", err)
	}
}

// TestExportChunksAndResume: a file larger than one chunk is stored in
// pieces and served whole; an export a stopped process left behind (with
// a stray chunk of its interrupted run) is taken over once it is stale,
// generated again and keeps no stray chunk.
func TestExportChunksAndResume(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		pad := strings.Repeat("p", 3000)
		n := 2*export.ChunkBytes/len(pad) + 10 // at least three chunks
		f := newFixture(t, s, clock, n, pad)
		f.app.Exports.Workers.Close() // this process stops before running it
		e, err := f.app.Exports.Create(ctx, proj, "order", export.Parameters{Fields: []string{"source_id", "metadata.pad"}}, "http://x")
		if err != nil {
			t.Fatal(err)
		}
		stray := core.Key{PK: proj + "#export#" + e.ID, SK: "c#000099"}
		if err := s.Write(ctx, core.Put(core.Item{Key: stray, Version: 1, Data: []byte("stray")})); err != nil {
			t.Fatal(err)
		}

		g := app.New(s, clock)
		t.Cleanup(func() { _ = g.Close() })
		var chunks []int64
		g.Exports.Observe = func(x export.Export) { chunks = append(chunks, x.Rows) }
		if n, err := g.Exports.Resume(ctx, export.StaleAfter); err != nil || n != 0 {
			t.Fatalf("Resume of a fresh export = %d, %v; want it left to its process", n, err)
		}
		clock.Advance(export.StaleAfter + time.Second)
		if n, err := g.Exports.Resume(ctx, export.StaleAfter); err != nil || n != 1 {
			t.Fatalf("Resume of a stale export = %d, %v", n, err)
		}
		g.Exports.Workers.Wait()
		done, err := g.Exports.Get(ctx, proj, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		rows := (&fixture{app: g}).download(t, done)
		if len(rows) != n+1 || done.Rows != int64(n) {
			t.Fatalf("%d rows (export says %d), want %d and a header", len(rows)-1, done.Rows, n)
		}
		for i, r := range rows[1:] {
			if r[0] != fmt.Sprintf("o-%03d", n-1-i) || r[1] != pad {
				t.Fatalf("row %d = %.20q", i, r)
			}
		}
		stored, err := s.Query(ctx, core.Query{PK: proj + "#export#" + e.ID, Prefix: "c#", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored.Items) < 3 || stored.Items[len(stored.Items)-1].Key == stray {
			t.Fatalf("%d chunks stored, last %v: want at least 3 and no stray one", len(stored.Items), stored.Items[len(stored.Items)-1].Key)
		}
		// Progress was recorded as the file grew, not only at the end.
		if len(chunks) < 4 || chunks[1] == 0 || chunks[1] >= int64(n) {
			t.Fatalf("progress writes = %v", chunks)
		}
	})
}
