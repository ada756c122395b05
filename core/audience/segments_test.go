package audience_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func order(id, delivery, transition, status, cust string, amount int64, at time.Time, items ...customer.OrderItem) customer.Order {
	return customer.Order{Source: "shopify", DeliveryID: delivery, ID: id, Transition: transition, Status: status,
		Customer: customer.OrderCustomer{ID: cust, Email: cust + "@example.com"}, Amount: amount, Currency: "USD", Items: items, At: at}
}

// TestOrderAggregates: paid orders count once however often their
// notifications repeat; updates apply the difference; cancellation and
// refunds take back what they must.
func TestOrderAggregates(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		mug := customer.OrderItem{SKU: "MUG", ProductID: "p1", Quantity: 2, Price: 1500}
		tee := customer.OrderItem{SKU: "TEE", ProductID: "p2", Quantity: 1, Price: 2000}
		steps := []customer.Order{
			order("1001", "e1", customer.OrderCreated, customer.OrderCreated, "kevin", 5000, t0, mug, tee), // not paid: not counted
			order("1001", "e2", customer.OrderPaid, customer.OrderPaid, "kevin", 5000, t0.Add(time.Hour), mug, tee),
			order("1001", "e2", customer.OrderPaid, customer.OrderPaid, "kevin", 5000, t0.Add(time.Hour), mug, tee), // duplicate delivery
			order("1002", "e3", customer.OrderPaid, customer.OrderPaid, "kevin", 3000, t0.Add(2*time.Hour), mug),
			order("1002", "e4", customer.OrderUpdated, customer.OrderPaid, "kevin", 4500, t0.Add(3*time.Hour), customer.OrderItem{SKU: "MUG", ProductID: "p1", Quantity: 3, Price: 1500}),
		}
		for _, o := range steps {
			must2o(t)(svc.ApplyOrder(ctx, proj, o))
		}
		p := must(svc.FindCustomer(ctx, proj, "kevin"))(t)
		o := p.Orders
		if o.Count != 2 || o.TotalAmount != 9500 || o.LargestAmount != 5000 || o.LastAmount != 3000 || o.SKUs["MUG"].Quantity != 5 ||
			o.SKUs["MUG"].Orders != 2 || o.SKUs["TEE"].Quantity != 1 || o.Products["p1"] != 5 || !o.FirstAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after paid orders: %+v (MUG %+v)", o, o.SKUs["MUG"])
		}
		// Shopify's refunds/create states this refund, not the order's total.
		refund := order("1001", "e5", customer.OrderRefunded, customer.OrderRefunded, "kevin", 0, t0.Add(4*time.Hour))
		refund.Refund = 2000
		must2o(t)(svc.ApplyOrder(ctx, proj, refund))
		must2o(t)(svc.ApplyOrder(ctx, proj, order("1002", "e6", customer.OrderCanceled, customer.OrderCanceled, "kevin", 4500, t0.Add(5*time.Hour))))
		p = must(svc.FindCustomer(ctx, proj, "kevin"))(t)
		o = p.Orders
		if o.Count != 1 || o.TotalAmount != 5000 || o.RefundedAmount != 2000 || o.RefundCount != 1 || o.SKUs["MUG"].Quantity != 2 || o.SKUs["MUG"].Orders != 1 {
			t.Fatalf("after refund and cancel: %+v", o)
		}
		ev := outbox(t, s)
		for typ, want := range map[string]int{"customer.order.created": 1, "customer.order.paid": 2, "customer.order.updated": 1,
			"customer.order.refunded": 1, "customer.order.canceled": 1} {
			if len(ev[typ]) != want {
				t.Errorf("%d %s events, want %d", len(ev[typ]), typ, want)
			}
		}
		got := must(svc.GetOrder(ctx, proj, "1001"))(t)
		if got.Status != "REFUNDED" || got.RefundedAmount != 2000 || got.CustomerID != p.ID {
			t.Fatalf("order 1001 = %+v", got)
		}
	})
}

func must2o(t *testing.T) func(audience.Order, audience.Outcome, error) audience.Outcome {
	return func(_ audience.Order, o audience.Outcome, err error) audience.Outcome {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
}

// run runs fn on both engines, each with its own clock at t0.
func run(t *testing.T, fn func(t *testing.T, s core.Store, clock *core.ManualClock)) {
	enginetest.RunAt(t, t0, fn)
}

// TestSweepTimeRelative: "no order in the last 30 days" changes with time
// alone; the sweep re-evaluates only the customers filed as due, and each
// real transition writes one event.
func TestSweepTimeRelative(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		lapsed := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Lapsed", Type: "auto-update",
			Filter: json.RawMessage(`{"orders.last_order_date":{"conditions":{"$older_than_days":[30]}}}`)}))(t)
		recent := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Active this week", Type: "auto-update",
			Filter: json.RawMessage(`{"events.login.count_7d":{"conditions":{"$more_than_equal":[1]}}}`)}))(t)
		must2o(t)(svc.ApplyOrder(ctx, proj, order("9", "d9", customer.OrderPaid, customer.OrderPaid, "oscar", 1000, t0)))
		must(svc.ApplyMessage(ctx, proj, track("oscar", "login", "l1", t0)))(t)
		for i := range 5 { // customers with nothing time-relative are never touched by the sweep
			must(svc.ApplyMessage(ctx, proj, identify(fmt.Sprintf("other-%d", i), fmt.Sprintf("o%d", i), t0, map[string]any{"x": i})))(t)
		}
		svc.Backfills.Wait() // else a backfill evaluating oscar after the clock moves does the sweep's work
		oscar := must(svc.FindCustomer(ctx, proj, "oscar"))(t)
		if !slices.Equal(oscar.Segments, []string{recent.ID}) {
			t.Fatalf("segments at t0 = %v", oscar.Segments)
		}
		clock.Advance(8 * 24 * time.Hour)
		res := must(svc.Sweep(ctx, proj, nil))(t)
		if res.Customers != 1 || res.Left != 1 || res.Entered != 0 {
			t.Fatalf("sweep after 8 days = %+v, want oscar alone leaving", res)
		}
		clock.Advance(23 * 24 * time.Hour)
		res = must(svc.Sweep(ctx, proj, nil))(t)
		if res.Customers != 1 || res.Entered != 1 {
			t.Fatalf("sweep after 31 days = %+v, want oscar entering Lapsed", res)
		}
		oscar = must(svc.FindCustomer(ctx, proj, "oscar"))(t)
		if !slices.Equal(oscar.Segments, []string{lapsed.ID}) || oscar.DueAt != nil {
			t.Fatalf("after sweeps: segments %v due %v", oscar.Segments, oscar.DueAt)
		}
		if again := must(svc.Sweep(ctx, proj, nil))(t); again.Customers != 0 {
			t.Fatalf("a repeated sweep touched %d customers", again.Customers)
		}
		ev := outbox(t, s)
		if len(ev["customer.segment.entered"]) != 2 || len(ev["customer.segment.left"]) != 1 {
			t.Fatalf("entered %d left %d", len(ev["customer.segment.entered"]), len(ev["customer.segment.left"]))
		}
	})
}

// TestBackfill: a segment created after the customers brings them in, in
// the background, with progress; an interrupted backfill resumes.
func TestBackfill(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		for i := range 60 {
			plan := "free"
			if i%3 == 0 {
				plan = "gold"
			}
			must(svc.ApplyMessage(ctx, proj, identify(fmt.Sprintf("u%d", i), fmt.Sprintf("m%d", i), t0, map[string]any{"plan": plan})))(t)
		}
		seg := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Gold", Type: "auto-update",
			Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$is":["gold"]}}}`)}))(t)
		svc.Backfills.Wait()
		got := must(svc.GetSegment(ctx, proj, seg.ID))(t)
		if got.InitialSyncStatus != audience.SyncDone || got.Backfill.Processed != 60 || got.Backfill.Entered != 20 || got.Backfill.Progress != 100 {
			t.Fatalf("segment after backfill = %+v / %+v", got, got.Backfill)
		}
		members, _ := must2(t)(svc.Members(ctx, proj, seg.ID, 100, ""))
		if len(members) != 20 {
			t.Fatalf("%d members, want 20", len(members))
		}
		// Resume: a backfill whose process stopped continues from its checkpoint.
		seg2 := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Free", Type: "auto-update",
			Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$is":["free"]}}}`)}))(t)
		_ = svc.Backfills.Close() // may stop it midway, or after it finished
		svc.Backfills = audience.NewBackfills()
		must(svc.ResumeBackfills(ctx))(t)
		svc.Backfills.Wait()
		got = must(svc.GetSegment(ctx, proj, seg2.ID))(t)
		if got.InitialSyncStatus != audience.SyncDone || got.Backfill.Entered != 40 {
			t.Fatalf("resumed backfill = %+v", got.Backfill)
		}
	})
}

// TestStaticSegmentAndDeletion: static memberships, then permanent deletion
// removes the customer's personal data everywhere.
func TestStaticSegmentAndDeletion(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		m := identify("toby", "t1", t0, map[string]any{"email": "toby@hr.example", "name": "Toby"})
		m.AnonymousID = "anon-toby"
		must(svc.ApplyMessage(ctx, proj, m))(t)
		must(svc.ApplyMessage(ctx, proj, track("toby", "complaint_filed", "t2", t0)))(t)
		must2o(t)(svc.ApplyOrder(ctx, proj, order("77", "d77", customer.OrderPaid, customer.OrderPaid, "toby", 1200, t0)))
		seg := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "HR", Type: "static", Customers: []string{"toby"}}))(t)
		toby := must(svc.FindCustomer(ctx, proj, "toby"))(t)
		if !slices.Equal(toby.Segments, []string{seg.ID}) {
			t.Fatalf("segments = %v", toby.Segments)
		}
		if _, err := svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Nobody", Type: "static", Customers: []string{"no-such"}}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("static segment with an unknown customer: %v", err)
		}
		del := must(svc.DeleteCustomer(ctx, proj, "toby"))(t)
		if del.DataJSON["events"] != 1 || del.DataJSON["orders"] != 1 || del.DataJSON["segments"] != 1 {
			t.Fatalf("deletion = %+v", del.DataJSON)
		}
		if _, err := svc.FindCustomer(ctx, proj, "toby"); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("deleted customer still found: %v", err)
		}
		// Nothing under the customer's partition or identities remains.
		pg := must(s.Query(ctx, core.Query{PK: customer.Partition(proj, toby.ID), Limit: 100}))(t)
		if len(pg.Items) != 0 {
			t.Fatalf("%d items left in the customer's partition", len(pg.Items))
		}
		for _, k := range []core.Key{customer.IdentityKey(proj, customer.IdentityEmail, "toby@hr.example"),
			customer.IdentityKey(proj, customer.IdentityAnonymous, "anon-toby"), customer.IdentityKey(proj, customer.IdentitySource, "toby")} {
			if _, err := s.Get(ctx, k); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("%s survives deletion", k)
			}
		}
		members, _ := must2(t)(svc.Members(ctx, proj, seg.ID, 10, ""))
		if len(members) != 0 {
			t.Fatalf("members after deletion = %v", members)
		}
		o := must(svc.GetOrder(ctx, proj, "77"))(t)
		if o.Customer["email"] != nil || o.Amount != 1200 {
			t.Fatalf("order after deletion = %+v", o)
		}
	})
}

// TestEventSchema: names, property types, first/last seen and counts.
func TestEventSchema(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		a := track("creed", "Order Completed", "s1", t0)
		a.Properties = map[string]any{"total": 12.5, "sku": "X"}
		b := track("creed", "Order Completed", "s2", t0.Add(time.Hour))
		b.Properties = map[string]any{"total": "12.50", "coupon": nil}
		must(svc.Apply(ctx, proj, []customer.Message{a, b, a}))(t) // a again: a duplicate is not counted
		// Schema shows what this process observed, flushed or not.
		list, _, err := svc.Schema(ctx, proj, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("schemas = %+v", list)
		}
		e := list[0]
		if e.Name != "Order Completed" || e.Count != 2 || !slices.Equal(e.Properties["total"], []string{"number", "string"}) ||
			!slices.Equal(e.Properties["coupon"], []string{"null"}) || !e.FirstSeen.Equal(t0) || !e.LastSeen.Equal(t0.Add(time.Hour)) {
			t.Fatalf("schema = %+v", e)
		}
	})
}

// TestLateOrderNotificationIgnored: webhooks arrive out of order; an older
// update arriving after a newer one does not roll the order back.
func TestLateOrderNotificationIgnored(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		mug := customer.OrderItem{SKU: "MUG", Quantity: 1, Price: 1000}
		must2o(t)(svc.ApplyOrder(ctx, proj, order("5", "a", customer.OrderPaid, customer.OrderPaid, "meredith", 1000, t0, mug)))
		must2o(t)(svc.ApplyOrder(ctx, proj, order("5", "c", customer.OrderCanceled, customer.OrderCanceled, "meredith", 1000, t0.Add(2*time.Hour), mug)))
		late := order("5", "b", customer.OrderUpdated, customer.OrderPaid, "meredith", 3000, t0.Add(time.Hour), mug)
		must2o(t)(svc.ApplyOrder(ctx, proj, late))
		o := must(svc.GetOrder(ctx, proj, "5"))(t)
		p := must(svc.FindCustomer(ctx, proj, "meredith"))(t)
		if o.Status != "CANCELED" || o.Amount != 1000 || p.Orders.Count != 0 || p.Orders.TotalAmount != 0 {
			t.Fatalf("after a late update: order %+v, aggregates %+v", o, p.Orders)
		}
	})
}

// stopAfterWrites is the real store, cancelling a context once it has
// committed n writes: a process told to stop in the middle of a backfill.
type stopAfterWrites struct {
	core.Store
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (s *stopAfterWrites) Write(ctx context.Context, ops ...core.Op) error {
	err := s.Store.Write(ctx, ops...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.cancel != nil {
		if s.n--; s.n == 0 {
			s.cancel()
		}
	}
	return err
}

// TestBackfillStoppedMidPageCountsOnce: a backfill stopped right after a
// customer entered the segment keeps that customer in its checkpoint; the
// resumed run neither repeats nor misses a count.
func TestBackfillStoppedMidPageCountsOnce(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		st := &stopAfterWrites{Store: s}
		a := app.New(st, clock)
		t.Cleanup(func() { _ = a.Close() })
		svc := a.Audience
		for i := range 60 {
			plan := "free"
			if i%3 == 0 {
				plan = "gold"
			}
			must(svc.ApplyMessage(ctx, proj, identify(fmt.Sprintf("u%d", i), fmt.Sprintf("m%d", i), t0, map[string]any{"plan": plan})))(t)
		}
		_ = svc.Backfills.Close() // the segment's backfill is recorded, not run
		seg := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Gold", Type: "auto-update",
			Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$is":["gold"]}}}`)}))(t)
		stopCtx, cancel := context.WithCancel(ctx)
		st.mu.Lock()
		st.n, st.cancel = 3, cancel // stop just after the third write: a customer entering
		st.mu.Unlock()
		if err := svc.RunBackfill(stopCtx, proj, seg.ID, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped backfill: %v", err)
		}
		mid := must(svc.GetSegment(ctx, proj, seg.ID))(t)
		if mid.Backfill.Status == audience.SyncDone || mid.Backfill.Entered == 0 {
			t.Fatalf("the stop came too late or the stopped run kept nothing: %+v", mid.Backfill)
		}
		must(struct{}{}, svc.RunBackfill(ctx, proj, seg.ID, nil))(t)
		got := must(svc.GetSegment(ctx, proj, seg.ID))(t)
		if got.Backfill.Processed != 60 || got.Backfill.Entered != 20 || got.InitialSyncStatus != audience.SyncDone {
			t.Fatalf("resumed backfill = %+v", got.Backfill)
		}
	})
}

// TestListCustomersByCreation: the customer list in both orders, bounded by
// creation time exactly (customers created at a bound are outside it),
// paged with the cursor.
func TestListCustomersByCreation(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		var created []time.Time // customer i was created at created[i]
		for i := range 12 {
			// Half a millisecond apart: bounds fall inside the ids' precision.
			clock.Advance(500 * time.Microsecond)
			created = append(created, clock.Now())
			must(svc.ApplyMessage(ctx, proj, identify(fmt.Sprintf("c%02d", i), fmt.Sprintf("m%d", i), clock.Now(), nil)))(t)
		}
		list := func(rng audience.CustomerRange, limit int) []string {
			var out []string
			cursor := ""
			for {
				page, next := must3(t)(svc.ListCustomers(ctx, proj, rng, limit, cursor))
				for _, p := range page {
					out = append(out, p.SourceID)
				}
				if next == "" {
					return out
				}
				cursor = next
			}
		}
		names := func(from, to int, step int) []string {
			var out []string
			for i := from; i != to; i += step {
				out = append(out, fmt.Sprintf("c%02d", i))
			}
			return out
		}
		for _, c := range []struct {
			name string
			rng  audience.CustomerRange
			want []string
		}{
			{"all newest first", audience.CustomerRange{}, names(11, -1, -1)},
			{"all oldest first", audience.CustomerRange{Oldest: true}, names(0, 12, 1)},
			{"after c03", audience.CustomerRange{CreatedAfter: created[3]}, names(11, 3, -1)},
			{"before c05, oldest first", audience.CustomerRange{CreatedBefore: created[5], Oldest: true}, names(0, 5, 1)},
			{"between c02 and c07", audience.CustomerRange{CreatedAfter: created[2], CreatedBefore: created[7]}, names(6, 2, -1)},
			{"a nanosecond after c04", audience.CustomerRange{CreatedAfter: created[4].Add(time.Nanosecond), Oldest: true}, names(5, 12, 1)},
			{"empty range", audience.CustomerRange{CreatedAfter: created[6], CreatedBefore: created[6]}, nil},
			{"inverted range", audience.CustomerRange{CreatedAfter: created[9], CreatedBefore: created[2]}, nil},
		} {
			for _, limit := range []int{1, 5, 100} {
				if got := list(c.rng, limit); !slices.Equal(got, c.want) {
					t.Errorf("%s, pages of %d: %v, want %v", c.name, limit, got, c.want)
				}
			}
		}
	})
}

// TestSegmentUpdate: a rename changes no membership; a new filter applies
// to later changes at once and a backfill re-evaluates existing customers,
// who leave (one customer.segment.left each) or enter as it now decides;
// a second change while the first backfill runs supersedes it.
func TestSegmentUpdate(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		seg := reviewers(t, svc)
		svc.Backfills.Wait()
		for i, reviews := range []int{1, 2, 3, 1} {
			for j := range reviews {
				must(svc.ApplyMessage(ctx, proj, track(fmt.Sprintf("r%d", i), "review_left", fmt.Sprintf("r%d-%d", i, j), t0)))(t)
			}
		}
		name := "  Frequent reviewers "
		renamed := must(svc.UpdateSegment(ctx, proj, seg.ID, audience.SegmentUpdate{Name: &name}))(t)
		if renamed.Name != "Frequent reviewers" || renamed.Backfill == nil || renamed.Backfill.Status != audience.SyncDone {
			t.Fatalf("renamed = %+v %+v", renamed, renamed.Backfill)
		}
		if n := len(outbox(t, s)["customer.segment.left"]); n != 0 {
			t.Fatalf("a rename made %d customers leave", n)
		}

		filter := func(min int) audience.SegmentUpdate {
			return audience.SegmentUpdate{Filter: json.RawMessage(fmt.Sprintf(`{"events.review_left.count":{"conditions":{"$more_than_equal":[%d]}}}`, min))}
		}
		membersOf := func() []string {
			t.Helper()
			ids, _ := must2(t)(svc.Members(ctx, proj, seg.ID, 100, ""))
			var names []string
			for _, id := range ids {
				names = append(names, must(svc.Customer(ctx, proj, id))(t).SourceID)
			}
			slices.Sort(names)
			return names
		}
		// ≥ 3: r0, r1 and r3 leave.
		must(svc.UpdateSegment(ctx, proj, seg.ID, filter(3)))(t)
		svc.Backfills.Wait()
		got := must(svc.GetSegment(ctx, proj, seg.ID))(t)
		if got.Backfill.Status != audience.SyncDone || got.Backfill.Processed != 4 || got.Backfill.Left != 3 || got.Backfill.Entered != 0 {
			t.Fatalf("backfill after the change = %+v", got.Backfill)
		}
		if m := membersOf(); !slices.Equal(m, []string{"r2"}) {
			t.Fatalf("members = %v, want r2", m)
		}
		// ≥ 2: r1 enters again.
		must(svc.UpdateSegment(ctx, proj, seg.ID, filter(2)))(t)
		svc.Backfills.Wait()
		if m := membersOf(); !slices.Equal(m, []string{"r1", "r2"}) {
			t.Fatalf("members = %v, want r1 and r2", m)
		}
		ob := outbox(t, s)
		if l, e := len(ob["customer.segment.left"]), len(ob["customer.segment.entered"]); l != 3 || e != 5 {
			t.Fatalf("%d left and %d entered events, want 3 and 5 (four at first, r1 again)", l, e)
		}
		// A later change is decided by the new filter, under the new name.
		must(svc.ApplyMessage(ctx, proj, track("r3", "review_left", "r3-again", t0)))(t)
		var renamedEntries []string
		for _, e := range outbox(t, s)["customer.segment.entered"] {
			if data, _ := json.Marshal(e); strings.Contains(string(data), "Frequent reviewers") {
				renamedEntries = append(renamedEntries, string(data))
			}
		}
		if len(renamedEntries) != 2 || !slices.ContainsFunc(renamedEntries, func(d string) bool { return strings.Contains(d, `"source_id":"r3"`) }) {
			t.Fatalf("entries under the new name = %v, want r1's and r3's", renamedEntries)
		}
		// Two changes in a row: the second backfill supersedes the first;
		// memberships follow the last filter.
		must(svc.UpdateSegment(ctx, proj, seg.ID, filter(1)))(t)
		must(svc.UpdateSegment(ctx, proj, seg.ID, filter(3)))(t)
		svc.Backfills.Wait()
		if m := membersOf(); !slices.Equal(m, []string{"r2"}) {
			t.Fatalf("members after two changes = %v, want r2", m)
		}
		if got := must(svc.GetSegment(ctx, proj, seg.ID))(t); got.Backfill.Status != audience.SyncDone || got.Backfill.Processed != 4 {
			t.Fatalf("backfill after two changes = %+v", got.Backfill)
		}

		// Refused, writing nothing: no change named, a static segment's
		// filter, a filter that does not compile, an unknown segment.
		static := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "List", Type: "static"}))(t)
		for _, c := range []struct {
			id  string
			in  audience.SegmentUpdate
			key string
		}{
			{seg.ID, audience.SegmentUpdate{}, "invalid_segment"},
			{static.ID, audience.SegmentUpdate{Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$is":"gold"}}}`)}, "invalid_segment"},
			{seg.ID, audience.SegmentUpdate{Filter: json.RawMessage(`{"traits.plan":{"conditions":{"$nope":1}}}`)}, "invalid_segment_filter"},
			{"seg_unknown", audience.SegmentUpdate{Name: &name}, "not_found"},
		} {
			_, err := svc.UpdateSegment(ctx, proj, c.id, c.in)
			if core.ErrorKey(err) != c.key {
				t.Errorf("update %+v: %v, want %s", c.in, err, c.key)
			}
		}
	})
}
