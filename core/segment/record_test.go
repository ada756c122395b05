package segment

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
)

var orderSchema = RecordSchema{
	Fields: map[string]RecordKind{"status": RecordString, "source_id": RecordString, "amount": RecordNumber,
		"created_at": RecordTime},
	Metadata: true, What: "order filter", Key: "invalid_order_filter",
}

func TestMatchRecord(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	paid := Record{
		Values:   map[string]any{"status": "PAID", "source_id": "o-1", "amount": int64(4200), "created_at": now.Add(-48 * time.Hour)},
		Metadata: map[string]any{"channel": "web", "gift": true},
	}
	blank := Record{Values: map[string]any{"status": "CREATED", "source_id": "", "amount": int64(0)}}
	for _, c := range []struct {
		filter      string
		paid, blank bool
	}{
		{`{"status":{"conditions":{"$is":"PAID"}}}`, true, false},
		{`{"status":{"conditions":{"$in":["PAID","CREATED"]}}}`, true, true},
		{`{"status":{"conditions":{"$is_not":"PAID"}}}`, false, true},
		{`{"amount":{"conditions":{"$more_than":4199,"$less_than_equal":4200}}}`, true, false},
		{`{"created_at":{"conditions":{"$after":"2026-11-18T00:00:00Z"}}}`, true, false},
		{`{"created_at":{"conditions":{"$before":["2026-11-18T00:00:00Z"]}}}`, false, false},
		{`{"created_at":{"conditions":{"$is_unknown":""}}}`, false, true},
		{`{"source_id":{"conditions":{"$starts_with":"o-"}}}`, true, false},
		{`{"metadata.channel":{"conditions":{"$is":"web"}}}`, true, false},
		{`{"metadata.gift":{"conditions":{"$is":true}}}`, true, false},
		{`{"junction":"or","status":{"conditions":{"$is":"CREATED"}},"amount":{"conditions":{"$more_than":4000}}}`, true, true},
		{`{"not":true,"status":{"conditions":{"$is":"PAID"}}}`, false, true},
	} {
		f, err := CompileRecords(json.RawMessage(c.filter), orderSchema)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		if got := f.MatchRecord(paid, now); got != c.paid {
			t.Errorf("%s on the paid order = %v, want %v", c.filter, got, c.paid)
		}
		if got := f.MatchRecord(blank, now); got != c.blank {
			t.Errorf("%s on the blank order = %v, want %v", c.filter, got, c.blank)
		}
	}
}

func TestCompileRecordsErrors(t *testing.T) {
	for _, c := range []struct{ filter, want string }{
		{`{"orders.total_count":{"conditions":{"$is":1}}}`, "filter.orders.total_count: unknown field; the fields are amount, created_at, source_id, status, metadata.<key>"},
		{`{"amount":{"conditions":{"$is":"ten"}}}`, "filter.amount.conditions.$is: expects a number"},
		{`{"status":{"conditions":{"$more_than":1}}}`, "filter.status.conditions.$more_than: not valid for a text field"},
		{`{"metadata.":{"conditions":{"$is":1}}}`, "filter.metadata.: unknown field"},
	} {
		_, err := CompileRecords(json.RawMessage(c.filter), orderSchema)
		var ce *core.Error
		if err == nil || !strings.Contains(err.Error(), c.want) || core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("%s: %v, want an invalid-filter error containing %q", c.filter, err, c.want)
			continue
		}
		if errors.As(err, &ce); ce.Key != "invalid_order_filter" || !strings.HasPrefix(ce.Message, "invalid order filter: ") {
			t.Errorf("%s: key %q, message %q", c.filter, ce.Key, ce.Message)
		}
	}
	_, noSchemaMeta := CompileRecords(json.RawMessage(`{"metadata.x":{"conditions":{"$is":1}}}`),
		RecordSchema{Fields: map[string]RecordKind{"status": RecordString}, What: "f", Key: "k"})
	if noSchemaMeta == nil {
		t.Error("metadata.x accepted by a schema without metadata")
	}
}
