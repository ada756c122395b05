package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/events"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// storyServer is promorelay over one store, served on a loopback port.
type storyServer struct {
	t   *testing.T
	app *app.App
	url string
}

func newStoryServer(t *testing.T, s core.Store) *storyServer {
	a := app.New(s, nil)
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a.Handler(app.HTTPOptions{Engine: "test"}))
	t.Cleanup(srv.Close)
	return &storyServer{t: t, app: a, url: srv.URL}
}

// project creates a project with keys and the story's segment.
func (ss *storyServer) project(name, segName, filter string) (project.Keys, audience.Segment) {
	ss.t.Helper()
	ctx := context.Background()
	keys, err := ss.app.Projects.CreateKeys(ctx, name)
	if err != nil {
		ss.t.Fatal(err)
	}
	seg, err := ss.app.Audience.CreateSegment(ctx, keys.ProjectID, audience.SegmentInput{Name: segName, Type: "auto-update", Filter: json.RawMessage(filter)})
	if err != nil {
		ss.t.Fatal(err)
	}
	ss.app.Audience.Backfills.Wait()
	return keys, seg
}

// post sends body with headers and requires status 200.
func (ss *storyServer) post(path string, body []byte, headers ...string) {
	ss.t.Helper()
	req, err := http.NewRequest("POST", ss.url+path, bytes.NewReader(body))
	if err != nil {
		ss.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ss.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		ss.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out.String())
	}
}

// michael checks the story's customer and that he entered seg exactly once.
func (ss *storyServer) michael(p, sourceID string, seg audience.Segment, wantOrders int64) {
	ss.t.Helper()
	ctx := context.Background()
	prof, err := ss.app.Audience.FindCustomer(ctx, p, sourceID)
	if err != nil {
		ss.t.Fatal(err)
	}
	if prof.Email != "michael@dundermifflin.com" || prof.Name != "Michael Scott" || prof.Phone == "" {
		ss.t.Fatalf("profile = %+v", prof)
	}
	if !slices.Equal(prof.Segments, []string{seg.ID}) {
		ss.t.Fatalf("segments = %v, want [%s]", prof.Segments, seg.ID)
	}
	// Every call was sent twice: each counted once.
	if prof.Orders.Count != wantOrders {
		ss.t.Fatalf("%d orders counted, want %d", prof.Orders.Count, wantOrders)
	}
	counts, err := ss.app.Audience.EventCounts(ctx, p, prof.ID)
	if err != nil {
		ss.t.Fatal(err)
	}
	for _, c := range counts {
		if c.Total != 1 {
			ss.t.Fatalf("event %s counted %d times, want 1", c.Name, c.Total)
		}
	}
	entered := 0
	for i := range core.OutboxShards {
		pg, err := ss.app.Store.Query(ctx, core.Query{PK: fmt.Sprintf("%s#outbox#%02d", p, i), Limit: 1000})
		if err != nil {
			ss.t.Fatal(err)
		}
		for _, it := range pg.Items {
			var e core.Event
			if err := json.Unmarshal(it.Data, &e); err != nil {
				ss.t.Fatal(err)
			}
			if slices.Contains(e.Types(), "customer.segment.entered") {
				entered++
			}
		}
	}
	if entered != 1 {
		ss.t.Fatalf("%d customer.segment.entered events, want exactly 1", entered)
	}
}

const reviewersFilter = `{"events.review_left.count":{"conditions":{"$more_than_equal":[1]}}}`

// TestStorySegmentDestination: steps 1–2 through Segment's Webhooks
// destination, every signed call delivered twice.
func TestStorySegmentDestination(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, seg := ss.project("destination", "Reviewers", reviewersFilter)
		calls := []string{
			`{"type":"identify","messageId":"dest-1","userId":"michael","timestamp":"2026-11-25T09:00:00Z",
			  "traits":{"name":"Michael Scott","email":"michael@dundermifflin.com","phone":"+15705550100"},
			  "context":{"consent":{"categoryPreferences":{"email":true,"sms":true}}}}`,
			`{"type":"track","messageId":"dest-2","userId":"michael","event":"review_left","timestamp":"2026-11-25T09:05:00Z",
			  "properties":{"rating":5,"product":"paper"}}`,
		}
		for range 2 {
			for _, c := range calls {
				mac := hmac.New(sha1.New, []byte(keys.SegmentSharedSecret))
				mac.Write([]byte(c))
				ss.post("/inbound/"+keys.ProjectID+"/segment", []byte(c), "Content-Type", "application/json",
					"X-Signature", hex.EncodeToString(mac.Sum(nil)))
			}
		}
		ss.michael(keys.ProjectID, "michael", seg, 0)
	})
}

// storyCallback records analytics-go's delivery results.
type storyCallback struct {
	mu       sync.Mutex
	ok, fail int
	errs     []error
}

func (c *storyCallback) Success(analytics.Message) { c.mu.Lock(); c.ok++; c.mu.Unlock() }
func (c *storyCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.fail++
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// TestStoryAnalyticsGo: steps 1–2 sent by Segment's own Go library
// (analytics-go) pointed at promorelay's /v1/batch; the whole session is
// sent twice with the same message ids, as a retrying client would.
func TestStoryAnalyticsGo(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, seg := ss.project("analytics-go", "Reviewers", reviewersFilter)
		cb := &storyCallback{}
		for range 2 {
			client, err := analytics.NewWithConfig(keys.SegmentWriteKey, analytics.Config{
				Endpoint: ss.url, Interval: 20 * time.Millisecond, BatchSize: 10, Callback: cb,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := client.Enqueue(analytics.Identify{MessageId: "ago-1", UserId: "michael",
				Traits: analytics.NewTraits().SetName("Michael Scott").SetEmail("michael@dundermifflin.com").SetPhone("+15705550100")}); err != nil {
				t.Fatal(err)
			}
			if err := client.Enqueue(analytics.Track{MessageId: "ago-2", UserId: "michael", Event: "review_left",
				Properties: analytics.NewProperties().Set("rating", 5)}); err != nil {
				t.Fatal(err)
			}
			if err := client.Close(); err != nil { // flushes
				t.Fatal(err)
			}
		}
		if cb.ok != 4 || cb.fail != 0 {
			t.Fatalf("analytics-go delivered %d, failed %d: %v", cb.ok, cb.fail, cb.errs)
		}
		ss.michael(keys.ProjectID, "michael", seg, 0)
	})
}

// fixture reads a testdata payload of the events package and edits it.
func fixture(t *testing.T, path string, edit func(map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hmacBase64(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const buyersFilter = `{"orders.total_count":{"conditions":{"$more_than_equal":[1]}}}`

// TestStoryShopify: Michael arrives as a Shopify customer and places a paid
// order; the shop's webhooks (signed, each delivered twice) put him into
// "Buyers" exactly once. (Shop webhooks carry no review_left: their
// story segment is order-based.)
func TestStoryShopify(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, seg := ss.project("shopify", "Buyers", buyersFilter)
		secret := "shpss_story_secret"
		if err := ss.app.Projects.SetSecrets(context.Background(), keys.ProjectID, project.Secrets{ShopifySecret: secret}); err != nil {
			t.Fatal(err)
		}
		cust := fixture(t, "shopify/customers_create.json", func(m map[string]any) {
			m["id"], m["email"], m["first_name"], m["last_name"], m["phone"] = 5550100, "michael@dundermifflin.com", "Michael", "Scott", "+15705550100"
		})
		order := fixture(t, "shopify/orders_paid.json", func(m map[string]any) {
			c := m["customer"].(map[string]any)
			c["id"], c["email"], c["first_name"], c["last_name"], c["phone"] = 5550100, "michael@dundermifflin.com", "Michael", "Scott", "+15705550100"
			m["email"] = "michael@dundermifflin.com"
		})
		now := time.Now().UTC().Format(time.RFC3339)
		for range 2 {
			for i, c := range []struct {
				topic string
				body  []byte
			}{{"customers/create", cust}, {"orders/paid", order}} {
				ss.post("/inbound/"+keys.ProjectID+"/shopify", c.body, "Content-Type", "application/json",
					"X-Shopify-Topic", c.topic, "X-Shopify-Hmac-Sha256", hmacBase64(secret, c.body),
					"X-Shopify-Event-Id", fmt.Sprintf("evt-%d", i), "X-Shopify-Triggered-At", now,
					"X-Shopify-Shop-Domain", "dunder.myshopify.com", "X-Shopify-API-Version", "2025-10")
			}
		}
		ss.michael(keys.ProjectID, "5550100", seg, 1)
	})
}

// TestStoryWooCommerce: the creation ping, then Michael's order, signed and
// delivered twice; he enters "Buyers" exactly once.
func TestStoryWooCommerce(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, seg := ss.project("woocommerce", "Buyers", buyersFilter)
		ss.post("/inbound/"+keys.ProjectID+"/woocommerce", []byte("webhook_id=7"), "Content-Type", "application/x-www-form-urlencoded")
		order := fixture(t, "woocommerce/order_created.json", func(m map[string]any) {
			m["customer_id"] = 42
			m["billing"] = map[string]any{"first_name": "Michael", "last_name": "Scott", "email": "michael@dundermifflin.com", "phone": "+15705550100"}
		})
		for range 2 {
			ss.post("/inbound/"+keys.ProjectID+"/woocommerce", order, "Content-Type", "application/json",
				"X-WC-Webhook-Topic", "order.created", "X-WC-Webhook-Resource", "order", "X-WC-Webhook-Event", "created",
				"X-WC-Webhook-Signature", hmacBase64(keys.WooCommerceSecret, order), "X-WC-Webhook-ID", "7",
				"X-WC-Webhook-Delivery-ID", "d-1", "X-WC-Webhook-Source", "https://dunder.example/")
		}
		ss.michael(keys.ProjectID, "42", seg, 1)
	})
}

// TestStoryOrderWebhook: the generic order webhook, signed per Standard
// Webhooks, delivered twice.
func TestStoryOrderWebhook(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, seg := ss.project("webhook", "Buyers", buyersFilter)
		body := []byte(`{"type":"order.paid","timestamp":"2026-11-25T09:00:00Z","data":{"id":"W-1","status":"paid","amount":4200,
			"currency":"USD","customer":{"source_id":"michael","email":"michael@dundermifflin.com","phone":"+15705550100","name":"Michael Scott"},
			"items":[{"sku_id":"PAPER-A4","product_id":"paper","quantity":10,"price":420}]}}`)
		for range 2 {
			ts := time.Now()
			sig, err := events.SignStandardWebhook(keys.WebhookSecret, "msg_story_1", ts, body)
			if err != nil {
				t.Fatal(err)
			}
			ss.post("/inbound/"+keys.ProjectID+"/orders", body, "Content-Type", "application/json",
				"webhook-id", "msg_story_1", "webhook-timestamp", fmt.Sprint(ts.Unix()), "webhook-signature", sig)
		}
		ss.michael(keys.ProjectID, "michael", seg, 1)
	})
}

// TestEventSchemaFlushedWhenQuiet: the event schema of the last event before
// a quiet spell reaches the store without a further event or a read of the
// schema (the app's flusher writes it within about SchemaFlushEvery).
func TestEventSchemaFlushedWhenQuiet(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ss := newStoryServer(t, s)
		keys, err := ss.app.Projects.CreateKeys(context.Background(), "quiet")
		if err != nil {
			t.Fatal(err)
		}
		// The first event of a process is written at once; the second,
		// within SchemaFlushEvery of it, waits for the flusher.
		for _, event := range []string{"signed_up", "review_left"} {
			body := []byte(`{"userId":"michael","event":"` + event + `","properties":{"rating":5}}`)
			req, err := http.NewRequest("POST", ss.url+"/v1/track", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(keys.SegmentWriteKey, "")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("track: %d", resp.StatusCode)
			}
		}
		key := core.Key{PK: keys.ProjectID + "#schema", SK: "e#review_left"}
		deadline := time.Now().Add(3 * audience.SchemaFlushEvery)
		for {
			it, err := s.Get(context.Background(), key)
			if err == nil {
				var e audience.EventSchema
				if err := json.Unmarshal(it.Data, &e); err != nil {
					t.Fatal(err)
				}
				if e.Count != 1 || !slices.Equal(e.Properties["rating"], []string{"number"}) {
					t.Fatalf("schema = %+v", e)
				}
				return
			}
			if !errors.Is(err, core.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the schema of review_left was not written within %v of a quiet spell", 3*audience.SchemaFlushEvery)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
