package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/infra/embedded"
	"github.com/promorelay/promorelay/internal/app"
)

// TestBackfillAndSweepCommands: customers exist, a segment's backfill was
// interrupted (its checkpoint is left IN_PROGRESS); "promorelay backfill"
// finishes it with progress lines, and "promorelay sweep" reports.
func TestBackfillAndSweepCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--project", "shop", "--json", "--data", dir}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var keys struct {
		ProjectID       string `json:"project_id"`
		SegmentWriteKey string `json:"segment_write_key"`
	}
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil || keys.SegmentWriteKey == "" {
		t.Fatalf("keys create --json printed %s (%v)", out.String(), err)
	}
	store, err := embedded.Open(embedded.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(store, core.SystemClock{})
	for i, plan := range []string{"gold", "free", "gold"} {
		m := customer.Message{Source: "segment", MessageID: "m" + plan + string(rune('0'+i)), Type: "identify",
			UserID: "u" + string(rune('0'+i)), Traits: map[string]any{"plan": plan}}
		if _, err := a.Audience.ApplyMessage(ctx, keys.ProjectID, m); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.Audience.Backfills.Close() // the backfill stops at once: left for the command
	seg, err := a.Audience.CreateSegment(ctx, keys.ProjectID, audience.SegmentInput{Name: "Gold", Type: "auto-update",
		Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$is":["gold"]}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"backfill", "--project", "shop", "--segment", seg.ID, "--data", dir}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "100%") || !strings.Contains(out.String(), "DONE, 3 customers evaluated, 2 entered") {
		t.Fatalf("backfill printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"sweep", "--data", dir}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "sweep shop: ") {
		t.Fatalf("sweep printed:\n%s", out.String())
	}
	if err := run(ctx, []string{"sweep", "--project", "nope", "--data", dir}, env(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("sweep of an unknown project succeeded")
	}
}
