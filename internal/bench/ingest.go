package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/internal/app"
)

// Ingest design targets (DESIGN.md, Performance).
const (
	targetIngest      = 20000 // events per second, embedded, durable
	targetIngestP99   = 20 * time.Millisecond
	targetTrackWCU    = 2.0
	targetDuplicateWC = 1.0
)

// IngestConfig scales the ingest runs.
type IngestConfig struct {
	Engine string
	// Customers is how many distinct customers the end-to-end run
	// identifies; each then sends TracksPer track calls.
	Customers int64
	TracksPer int64
	// Batch is the messages per /v1/batch request.
	Batch int64
	// PerKind is how many operations each DynamoDB cost run makes.
	PerKind int64
}

// segmentsFor are the project's auto-update segments during ingest runs:
// one on an event count, one on a trait, so every change evaluates both.
var benchSegments = map[string]string{
	"Reviewers": `{"events.review_left.count":{"conditions":{"$more_than_equal":[1]}}}`,
	"Gold":      `{"traits.plan":{"conditions":{"$is":["gold"]}}}`,
}

func ingestApp(ctx context.Context, s core.Store, name string, segments bool) (*app.App, string, string, error) {
	a := app.New(s, core.SystemClock{})
	keys, err := a.Projects.CreateKeys(ctx, name)
	if err != nil {
		return nil, "", "", err
	}
	if segments {
		for n, f := range benchSegments {
			if _, err := a.Audience.CreateSegment(ctx, keys.ProjectID, audience.SegmentInput{Name: n, Type: "auto-update", Filter: json.RawMessage(f)}); err != nil {
				return nil, "", "", err
			}
		}
		a.Audience.Backfills.Wait()
	}
	return a, keys.ProjectID, keys.SegmentWriteKey, nil
}

// message is message i of the end-to-end stream: customer i/(1+TracksPer)
// is identified first, then tracks; one in ten leaves a review (entering
// Reviewers), one in five is on the gold plan (entering Gold).
func (c IngestConfig) message(i int64) map[string]any {
	per := 1 + c.TracksPer
	cust, j := i/per, i%per
	user := "user-" + strconv.FormatInt(cust, 10)
	id := "bench-" + strconv.FormatInt(i, 10)
	if j == 0 {
		plan := "free"
		if cust%5 == 0 {
			plan = "gold"
		}
		return map[string]any{"type": "identify", "messageId": id, "userId": user,
			"traits": map[string]any{"email": user + "@example.com", "plan": plan, "name": "Customer " + user}}
	}
	event := "Product Viewed"
	if j == 1 && cust%10 == 0 {
		event = "review_left"
	}
	return map[string]any{"type": "track", "messageId": id, "userId": user, "event": event,
		"properties": map[string]any{"sku": "SKU-" + strconv.FormatInt(i%500, 10), "price": 1999}}
}

// Ingest measures end-to-end ingest on the embedded engine: Segment
// batches over loopback HTTP (write key, parse, dedupe, profile, segments,
// outbox), at 64 clients, for Customers customers.
func Ingest(ctx context.Context, r *Report, s core.Store, cfg IngestConfig) error {
	a, p, writeKey, err := ingestApp(ctx, s, "ingest-bench", true)
	if err != nil {
		return err
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler(app.HTTPOptions{Engine: cfg.Engine}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	total := cfg.Customers * (1 + cfg.TracksPer)
	requests := (total + cfg.Batch - 1) / cfg.Batch
	r.Step("%s: ingest %d customers × (1 identify + %d tracks) = %d events in batches of %d, 64 clients over HTTP",
		cfg.Engine, cfg.Customers, cfg.TracksPer, total, cfg.Batch)
	progress := newTicker(r, requests, "ingest requests")
	l := Load(ctx, 64, requests, func(ctx context.Context, seq int64) error {
		defer progress.tick()
		batch := make([]map[string]any, 0, cfg.Batch)
		for i := seq * cfg.Batch; i < min(total, (seq+1)*cfg.Batch); i++ {
			batch = append(batch, cfg.message(i))
		}
		return postBatch(ctx, client, srv.URL, writeKey, batch)
	})
	progress.stop()
	if l.Err != nil {
		return fmt.Errorf("ingest: %d errors; first: %w", l.Errors, l.Err)
	}
	events := float64(total) / l.Elapsed.Seconds()
	r.Add(Row{Measure: fmt.Sprintf("ingest end to end, %d customers, identify + %d tracks each, batches of %d, 64 clients", cfg.Customers, cfg.TracksPer, cfg.Batch),
		Engine: cfg.Engine, Value: fmt.Sprintf("%.0f events/s", events), Target: fmt.Sprintf("≥ %d events/s", targetIngest),
		Note: verdict(events >= targetIngest) + fmt.Sprintf("; %d events in %s; 2 auto-update segments evaluated on every change", total, l.Elapsed.Round(time.Millisecond))})
	r.Add(Row{Measure: "ingest acknowledgement latency per batch request, same run", Engine: cfg.Engine,
		Value: fmt.Sprintf("p50 %s, p99 %s", round(l.P50), round(l.P99)), Target: "p99 ≤ " + targetIngestP99.String(),
		Note: verdict(l.P99 <= targetIngestP99) + "; a request is answered after every message in it is committed (fsync)"})
	if err := verifyIngest(ctx, a, p, cfg); err != nil {
		return err
	}
	if st, ok := procStatus(); ok {
		per := float64(st["VmHWM"]) / float64(cfg.Customers) * 1e6
		r.Add(Row{Measure: "peak RSS of the benchmark process per million customers", Engine: cfg.Engine,
			Value: fmt.Sprintf("%.0f MiB", per/(1<<20)), Target: "≤ 1 GiB",
			Note: verdict(per <= 1<<30) + fmt.Sprintf("; VmHWM %d MiB after %d customers, the whole process (HTTP clients included); "+
				"at the end RssAnon %d MiB (heap) and RssFile %d MiB (bbolt's memory-mapped data file)",
				st["VmHWM"]>>20, cfg.Customers, st["RssAnon"]>>20, st["RssFile"]>>20)})
	}
	return nil
}

// verifyIngest checks the run's outcome: a sample of customers has the
// counts and memberships their messages imply.
func verifyIngest(ctx context.Context, a *app.App, p string, cfg IngestConfig) error {
	for _, c := range []int64{0, 1, 5, 10, cfg.Customers - 1} {
		prof, err := a.Audience.FindCustomer(ctx, p, "user-"+strconv.FormatInt(c, 10))
		if err != nil {
			return fmt.Errorf("verify customer %d: %w", c, err)
		}
		want := 0
		if c%10 == 0 {
			want++
		}
		if c%5 == 0 {
			want++
		}
		if len(prof.Segments) != want {
			return fmt.Errorf("verify customer %d: segments %v, want %d", c, prof.Segments, want)
		}
		counts, err := a.Audience.EventCounts(ctx, p, prof.ID)
		if err != nil {
			return err
		}
		var n int64
		for _, e := range counts {
			n += e.Total
		}
		if n != cfg.TracksPer {
			return fmt.Errorf("verify customer %d: %d tracks counted, want %d", c, n, cfg.TracksPer)
		}
	}
	return nil
}

func postBatch(ctx context.Context, client *http.Client, base, writeKey string, batch []map[string]any) error {
	raw, err := json.Marshal(map[string]any{"batch": batch})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/batch", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.SetBasicAuth(writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/batch: %s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// procStatus reads the process's memory figures (VmHWM, RssAnon,
// RssFile…) from /proc/self/status, in bytes.
func procStatus() (map[string]int64, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, false
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == "kB" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				out[strings.TrimSuffix(f[0], ":")] = kb << 10
			}
		}
	}
	_, ok := out["VmHWM"]
	return out, ok
}

// ticker prints progress of a long run every 10 seconds.
type ticker struct {
	r     *Report
	total int64
	what  string
	done  chan struct{}
	n     chan struct{}
}

func newTicker(r *Report, total int64, what string) *ticker {
	t := &ticker{r: r, total: total, what: what, done: make(chan struct{}), n: make(chan struct{}, 1024)}
	go func() {
		var count int64
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case <-t.n:
				count++
			case <-tick.C:
				r.Step("%d of %d %s done", count, total, what)
			}
		}
	}()
	return t
}

func (t *ticker) tick() { t.n <- struct{}{} }
func (t *ticker) stop() { close(t.done) }

// IngestCosts measures, on DynamoDB, the capacity units each kind of
// inbound event consumes (ReturnConsumedCapacity), through the ingest
// service: PerKind operations per kind, from 8 clients.
func IngestCosts(ctx context.Context, r *Report, s *dynamo.Store, cfg IngestConfig) error {
	a, p, _, err := ingestApp(ctx, s, "ingest-costs", true)
	if err != nil {
		return err
	}
	defer a.Close()
	bare, pBare, _, err := ingestApp(ctx, s, "ingest-costs-bare", false)
	if err != nil {
		return err
	}
	defer bare.Close()
	n := cfg.PerKind
	ts := time.Now().UTC()
	ident := func(i int64, plan string) customer.Message {
		u := "c-" + strconv.FormatInt(i, 10)
		return customer.Message{Source: "segment", MessageID: fmt.Sprintf("id-%s-%d", plan, i), Type: "identify", UserID: u, Email: u + "@example.com",
			Traits: map[string]any{"email": u + "@example.com", "plan": plan, "name": "Customer " + u}, Timestamp: ts}
	}
	track := func(i int64, event, id string) customer.Message {
		return customer.Message{Source: "segment", MessageID: id, Type: "track", UserID: "c-" + strconv.FormatInt(i, 10), Event: event,
			Properties: map[string]any{"sku": "SKU-1", "price": 1999}, Timestamp: ts}
	}
	apply := func(svc *audience.Service, proj string, m customer.Message) error {
		_, err := svc.ApplyMessage(ctx, proj, m)
		return err
	}
	kinds := []struct {
		name string
		op   func(ctx context.Context, i int64) error
		note string
	}{
		{"identify, new customer", func(_ context.Context, i int64) error { return apply(a.Audience, p, ident(i, "free")) },
			"profile, source_id and email identities, list entry, dedupe record, timeline entry"},
		{"identify, existing customer, trait change", func(_ context.Context, i int64) error { return apply(a.Audience, p, ident(i, "silver")) },
			"profile, dedupe record, timeline entry"},
		{"track, plain (no segment change)", func(_ context.Context, i int64) error {
			return apply(a.Audience, p, track(i, "Product Viewed", "pv-"+strconv.FormatInt(i, 10)))
		}, "dedupe record, the event's counter item, a version check of the profile (auto-update segments exist)"},
		{"track, plain, project without auto-update segments", func(_ context.Context, i int64) error {
			if i == 0 {
				return nil
			}
			return apply(bare.Audience, pBare, track(i, "Product Viewed", "b-"+strconv.FormatInt(i, 10)))
		}, "dedupe record and the event's counter item"},
		{"track entering a segment", func(_ context.Context, i int64) error {
			return apply(a.Audience, p, track(i, "review_left", "rv-"+strconv.FormatInt(i, 10)))
		}, "dedupe record, counter, profile, membership, outbox event, timeline entry"},
		{"duplicate call (any kind)", func(_ context.Context, i int64) error {
			return apply(a.Audience, p, track(i, "Product Viewed", "pv-"+strconv.FormatInt(i, 10)))
		}, "answered from the dedupe record: reads only"},
		{"order paid (Shopify-shaped)", func(_ context.Context, i int64) error {
			o := customer.Order{Source: "shopify", DeliveryID: "o-" + strconv.FormatInt(i, 10), ID: strconv.FormatInt(1000+i, 10),
				Transition: customer.OrderPaid, Status: customer.OrderPaid, Customer: customer.OrderCustomer{ID: "c-" + strconv.FormatInt(i, 10)},
				Amount: 4250, Currency: "USD", Items: []customer.OrderItem{{SKU: "PAPER", ProductID: "p1", Quantity: 5, Price: 850}}, At: ts}
			_, _, err := a.Audience.ApplyOrder(ctx, p, o)
			return err
		}, "order item, its two index items, profile aggregates, dedupe record, outbox event, timeline entry"},
	}
	// The bare project needs its customers too (not counted).
	for i := int64(1); i < n; i++ {
		if err := apply(bare.Audience, pBare, ident(i, "free")); err != nil {
			return err
		}
	}
	for _, k := range kinds {
		r.Step("%s: %s × %d", cfg.Engine, k.name, n)
		s.ResetUsage()
		l := Load(ctx, 8, n, k.op)
		if l.Err != nil {
			return fmt.Errorf("%s: %w", k.name, l.Err)
		}
		ops := float64(n)
		if k.name == "track, plain, project without auto-update segments" {
			ops-- // op 0 is skipped: customer 0 was never created there
		}
		var wcu, rcu float64
		var calls []string
		for kind, u := range s.Usage() {
			wcu += u.Write
			rcu += u.Read
			calls = append(calls, fmt.Sprintf("%s %.2f", kind, float64(u.Calls)/ops))
		}
		wcu, rcu = wcu/ops, rcu/ops
		row := Row{Measure: "DynamoDB units per inbound event: " + k.name, Engine: cfg.Engine,
			Value: fmt.Sprintf("%.2f WCU, %.2f RCU", wcu, rcu), Note: k.note + "; calls per event: " + strings.Join(slices.Sorted(slices.Values(calls)), ", ")}
		switch k.name {
		case "track, plain (no segment change)", "track, plain, project without auto-update segments":
			row.Target = fmt.Sprintf("≤ %.0f WCU", targetTrackWCU)
			row.Note = verdict(wcu <= targetTrackWCU) + "; " + row.Note
			r.Add(row)
			dollars := wcu*dollarsPerMillionWRU + rcu*dollarsPerMillionRRU
			r.Add(Row{Measure: "DynamoDB dollars per million " + strings.Replace(k.name, "track, plain", "plain track events", 1), Engine: cfg.Engine,
				Value: fmt.Sprintf("$%.2f", dollars), Target: "≤ $2 (with Lambda)",
				Note: verdict(dollars <= 2) + fmt.Sprintf("; %.2f WRU × $%.3f + %.2f RRU × $%.3f; Lambda compute not included (not measured here)",
					wcu, dollarsPerMillionWRU, rcu, dollarsPerMillionRRU)})
			continue
		case "duplicate call (any kind)":
			row.Target = fmt.Sprintf("≤ %.0f WCU", targetDuplicateWC)
			row.Note = verdict(wcu <= targetDuplicateWC) + "; " + row.Note
		}
		r.Add(row)
	}
	return nil
}
