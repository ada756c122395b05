package audience_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

const proj = "proj_test"

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func newService(t *testing.T, s core.Store, clock core.Clock) *audience.Service {
	t.Helper()
	a := app.New(s, clock)
	t.Cleanup(func() { _ = a.Close() })
	return a.Audience
}

// must(f())(t) fails t when f failed, else returns f's value.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func track(user, event, id string, at time.Time) customer.Message {
	return customer.Message{Source: "segment", MessageID: id, Type: "track", UserID: user, Event: event, Timestamp: at}
}

func identify(user, id string, at time.Time, traits map[string]any) customer.Message {
	m := customer.Message{Source: "segment", MessageID: id, Type: "identify", UserID: user, Traits: traits, Timestamp: at}
	if e, ok := traits["email"].(string); ok {
		m.Email = e
	}
	return m
}

func reviewers(t *testing.T, svc *audience.Service) audience.Segment {
	t.Helper()
	return must(svc.CreateSegment(context.Background(), proj, audience.SegmentInput{Name: "Reviewers", Type: "auto-update",
		Filter: json.RawMessage(`{"junction":"and","events.review_left.count":{"conditions":{"$more_than_equal":[1]}}}`)}))(t)
}

// outbox returns the outbox events of the project, by type.
func outbox(t *testing.T, s core.Store) map[string][]core.Event {
	t.Helper()
	out := map[string][]core.Event{}
	for i := range core.OutboxShards {
		pg := must(s.Query(context.Background(), core.Query{PK: fmt.Sprintf("%s#outbox#%02d", proj, i), Limit: 1000}))(t)
		for _, it := range pg.Items {
			var e core.Event
			if err := json.Unmarshal(it.Data, &e); err != nil {
				t.Fatal(err)
			}
			for _, typ := range e.Types() {
				out[typ] = append(out[typ], e)
			}
		}
	}
	return out
}

// TestStoryEntersReviewersOnce is the acceptance story's steps 1–2 at the
// service: identify then track review_left, every call delivered twice;
// Michael enters Reviewers exactly once.
func TestStoryEntersReviewersOnce(t *testing.T) {
	enginetest.Run(t, core.NewManualClock(t0), func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, core.NewManualClock(t0))
		seg := reviewers(t, svc)
		msgs := []customer.Message{
			identify("michael", "m1", t0, map[string]any{"name": "Michael Scott", "email": "michael@dundermifflin.com",
				"phone": "+15705550100"}),
			track("michael", "review_left", "m2", t0.Add(time.Minute)),
		}
		msgs[0].Consents = map[string]bool{"email": true, "sms": true}
		for range 2 {
			for _, m := range msgs {
				must(svc.ApplyMessage(ctx, proj, m))(t)
			}
		}
		prof := must(svc.FindCustomer(ctx, proj, "michael"))(t)
		if prof.Name != "Michael Scott" || prof.Email != "michael@dundermifflin.com" || !prof.Consents["sms"].Granted {
			t.Fatalf("profile = %+v", prof)
		}
		if !slices.Equal(prof.Segments, []string{seg.ID}) {
			t.Fatalf("segments = %v, want [%s]", prof.Segments, seg.ID)
		}
		ev := outbox(t, s)
		if n := len(ev["customer.segment.entered"]); n != 1 {
			t.Fatalf("%d customer.segment.entered events, want 1", n)
		}
		counts := must(svc.EventCounts(ctx, proj, prof.ID))(t)
		if len(counts) != 1 || counts[0].Total != 1 {
			t.Fatalf("event counts = %+v, want review_left once", counts)
		}
		members, _ := must2(t)(svc.Members(ctx, proj, seg.ID, 10, ""))
		if !slices.Equal(members, []string{prof.ID}) {
			t.Fatalf("members = %v", members)
		}
	})
}

func must2(t *testing.T) func([]string, string, error) ([]string, string) {
	return func(v []string, next string, err error) ([]string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, next
	}
}

// TestConcurrentEventsNoLostUpdate: 8 concurrent senders × N events for one
// customer all land in its counters.
func TestConcurrentEventsNoLostUpdate(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		reviewers(t, svc) // a segment makes every event also check the profile
		perSender := 2000
		if _, ok := s.(interface{ Table() string }); ok {
			perSender = 250 // DynamoDB Local: ~4 ms per transaction, serialised on one customer
		}
		must(svc.ApplyMessage(ctx, proj, identify("dwight", "id0", t0, map[string]any{"name": "Dwight"})))(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perSender {
					m := track("dwight", "beet_sold", fmt.Sprintf("g%d-%d", g, i), t0.Add(time.Duration(i)*time.Second))
					if i%100 == 0 {
						m = identify("dwight", fmt.Sprintf("g%d-%d", g, i), t0.Add(time.Duration(i)*time.Second),
							map[string]any{fmt.Sprintf("sender_%d", g): i})
					}
					if _, err := svc.ApplyMessage(ctx, proj, m); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		prof := must(svc.FindCustomer(ctx, proj, "dwight"))(t)
		counts := must(svc.EventCounts(ctx, proj, prof.ID))(t)
		wantTrack := int64(8 * (perSender - (perSender+99)/100))
		if len(counts) != 1 || counts[0].Total != wantTrack {
			t.Fatalf("counts = %+v, want beet_sold %d", counts, wantTrack)
		}
		var days int64
		for _, n := range counts[0].Days {
			days += n
		}
		if days != wantTrack {
			t.Fatalf("day buckets sum to %d, want %d", days, wantTrack)
		}
		last := (perSender - 1) / 100 * 100
		for g := range 8 {
			if got := prof.Traits[fmt.Sprintf("sender_%d", g)]; fmt.Sprint(got) != fmt.Sprint(last) {
				t.Fatalf("trait sender_%d = %v, want %d (latest timestamp wins)", g, got, last)
			}
		}
	})
}

// TestTraitsLatestTimestampWins: an older identify delivered late changes
// nothing; consents follow the same rule.
func TestTraitsLatestTimestampWins(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		newer := identify("jim", "a", t0.Add(time.Hour), map[string]any{"plan": "gold"})
		newer.Consents = map[string]bool{"email": false}
		older := identify("jim", "b", t0, map[string]any{"plan": "silver", "city": "Scranton"})
		older.Consents = map[string]bool{"email": true}
		must(svc.ApplyMessage(ctx, proj, newer))(t)
		must(svc.ApplyMessage(ctx, proj, older))(t)
		p := must(svc.FindCustomer(ctx, proj, "jim"))(t)
		if p.Traits["plan"] != "gold" || p.Traits["city"] != "Scranton" || p.Consents["email"].Granted {
			t.Fatalf("traits = %v consents = %v", p.Traits, p.Consents)
		}
	})
}

// TestAnonymousMergedOnIdentify: events sent anonymously, then an identify
// linking the anonymousId to a known user, merge into one profile whose
// counters are summed and whose segments are recomputed; the merge shows
// in the activity.
func TestAnonymousMergedOnIdentify(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		seg := must(svc.CreateSegment(ctx, proj, audience.SegmentInput{Name: "Two reviews", Type: "auto-update",
			Filter: json.RawMessage(`{"events.review_left.count":{"conditions":{"$more_than_equal":[2]}}}`)}))(t)
		must(svc.ApplyMessage(ctx, proj, identify("pam", "p1", t0, map[string]any{"name": "Pam"})))(t)
		must(svc.ApplyMessage(ctx, proj, track("pam", "review_left", "p2", t0)))(t)
		anon := customer.Message{Source: "segment", MessageID: "a1", Type: "track", AnonymousID: "anon-7", Event: "review_left", Timestamp: t0}
		anonOut := must(svc.ApplyMessage(ctx, proj, anon))(t)
		anonProf := must(svc.Customer(ctx, proj, anonOut.CustomerID))(t)
		link := identify("pam", "p3", t0.Add(time.Minute), nil)
		link.AnonymousID = "anon-7"
		out := must(svc.ApplyMessage(ctx, proj, link))(t)
		if !slices.Equal(out.Entered, []string{seg.ID}) {
			t.Fatalf("entered = %v, want [%s]", out.Entered, seg.ID)
		}
		pam := must(svc.FindCustomer(ctx, proj, "pam"))(t)
		if !slices.Contains(pam.MergedFrom, anonProf.ID) || !slices.Contains(pam.AnonymousIDs, "anon-7") {
			t.Fatalf("pam = %+v", pam)
		}
		counts := must(svc.EventCounts(ctx, proj, pam.ID))(t)
		if len(counts) != 1 || counts[0].Total != 2 {
			t.Fatalf("counts = %+v, want 2 reviews", counts)
		}
		// The old id answers the merged profile.
		if got := must(svc.Customer(ctx, proj, anonProf.ID))(t); got.ID != pam.ID {
			t.Fatalf("old id answers %s", got.ID)
		}
		acts := must(svc.Activity(ctx, proj, pam.ID, audience.ActivityFilter{}))(t)
		if !slices.ContainsFunc(acts, func(a audience.Activity) bool { return a.Type == "customer.merged" }) {
			t.Fatalf("no customer.merged activity in %+v", acts)
		}
		// Another anonymous event now lands on pam.
		more := anon
		more.MessageID = "a2"
		if got := must(svc.ApplyMessage(ctx, proj, more))(t); got.CustomerID != pam.ID {
			t.Fatalf("anonymous event after merge went to %s", got.CustomerID)
		}
	})
}

// TestAliasMerges: alias(previousId → userId) merges two known profiles.
func TestAliasMerges(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		must(svc.ApplyMessage(ctx, proj, identify("old-id", "1", t0, map[string]any{"plan": "basic"})))(t)
		must(svc.ApplyMessage(ctx, proj, track("old-id", "login", "2", t0)))(t)
		must(svc.ApplyMessage(ctx, proj, identify("new-id", "3", t0.Add(time.Hour), map[string]any{"name": "Angela"})))(t)
		must(svc.ApplyMessage(ctx, proj, customer.Message{Source: "segment", MessageID: "4", Type: "alias", UserID: "new-id", PreviousID: "old-id", Timestamp: t0.Add(2 * time.Hour)}))(t)
		a := must(svc.FindCustomer(ctx, proj, "old-id"))(t)
		b := must(svc.FindCustomer(ctx, proj, "new-id"))(t)
		if a.ID != b.ID || b.Traits["plan"] != "basic" || b.Name != "Angela" {
			t.Fatalf("after alias: old %s new %+v", a.ID, b)
		}
		list, _ := must3(t)(svc.ListCustomers(ctx, proj, audience.CustomerRange{}, 10, ""))
		if len(list) != 1 {
			t.Fatalf("%d customers listed after merge, want 1", len(list))
		}
	})
}

func must3(t *testing.T) func([]customer.Profile, string, error) ([]customer.Profile, string) {
	return func(v []customer.Profile, next string, err error) ([]customer.Profile, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, next
	}
}

// TestPlainEventCrashBetweenWrites: a plain event is written as its counter
// then its dedupe record; a stop between the two (simulated by deleting the
// dedupe record) must not count the retried message twice.
func TestPlainEventCrashBetweenWrites(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		reviewers(t, svc)
		must(svc.ApplyMessage(ctx, proj, identify("kelly", "k0", t0, map[string]any{"name": "Kelly"})))(t)
		m := track("kelly", "gossip", "k1", t0)
		must(svc.ApplyMessage(ctx, proj, m))(t)
		if err := s.Write(ctx, core.Delete(core.Key{PK: proj + "#seen#segment:k1", SK: "m"}, core.IfExists())); err != nil {
			t.Fatalf("the plain event wrote no dedupe record where expected: %v", err)
		}
		out := must(svc.ApplyMessage(ctx, proj, m))(t)
		if out.Duplicate {
			t.Fatal("the retry was answered as a duplicate although its dedupe record was gone")
		}
		if got := must(svc.ApplyMessage(ctx, proj, m))(t); !got.Duplicate {
			t.Fatal("the retry did not write the dedupe record")
		}
		prof := must(svc.FindCustomer(ctx, proj, "kelly"))(t)
		counts := must(svc.EventCounts(ctx, proj, prof.ID))(t)
		if len(counts) != 1 || counts[0].Total != 1 {
			t.Fatalf("counts = %+v, want gossip once", counts)
		}
	})
}

// TestBatchOfOneCustomerInOneUnit: a call carrying several messages of one
// new customer (identify, tracks, the same message twice) creates one
// customer and counts each message once; a retry of the call changes
// nothing.
func TestBatchOfOneCustomerInOneUnit(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		seg := reviewers(t, svc)
		id := identify("ryan", "r1", t0, map[string]any{"name": "Ryan Howard", "email": "ryan@wuphf.example"})
		id.AnonymousID = "anon-ryan"
		batch := []customer.Message{
			id,
			track("ryan", "review_left", "r2", t0.Add(time.Second)),
			track("ryan", "review_left", "r2", t0.Add(time.Second)), // the same message twice
			track("ryan", "wuphf_sent", "r3", t0.Add(2*time.Second)),
			{Source: "segment", MessageID: "r4", Type: "track", AnonymousID: "anon-ryan", Event: "wuphf_sent", Timestamp: t0.Add(3 * time.Second)},
			track("kelly", "review_left", "k1", t0),
		}
		for round := range 2 {
			out := must(svc.Apply(ctx, proj, batch))(t)
			dups := 0
			for _, o := range out {
				if o.Duplicate {
					dups++
				}
			}
			if want := []int{1, 6}[round]; dups != want {
				t.Fatalf("round %d: %d duplicates, want %d (%+v)", round, dups, want, out)
			}
		}
		list, _ := must3(t)(svc.ListCustomers(ctx, proj, audience.CustomerRange{}, 10, ""))
		if len(list) != 2 {
			t.Fatalf("%d customers, want ryan and kelly", len(list))
		}
		ryan := must(svc.FindCustomer(ctx, proj, "ryan"))(t)
		if !slices.Equal(ryan.Segments, []string{seg.ID}) || ryan.Email != "ryan@wuphf.example" || !slices.Contains(ryan.AnonymousIDs, "anon-ryan") {
			t.Fatalf("ryan = %+v", ryan)
		}
		counts := must(svc.EventCounts(ctx, proj, ryan.ID))(t)
		got := map[string]int64{}
		for _, c := range counts {
			got[c.Name] = c.Total
		}
		if got["review_left"] != 1 || got["wuphf_sent"] != 2 {
			t.Fatalf("counts = %v", got)
		}
		if n := len(outbox(t, s)["customer.segment.entered"]); n != 2 {
			t.Fatalf("%d entered events, want 2 (ryan, kelly)", n)
		}
	})
}

// TestDedupeLastsSevenDays: a delivery repeated 7 days later is still
// recognised (Segment, Shopify and WooCommerce retry for less).
func TestDedupeLastsSevenDays(t *testing.T) {
	run(t, func(t *testing.T, s core.Store, clock *core.ManualClock) {
		ctx := context.Background()
		svc := newService(t, s, clock)
		m := track("stanley", "crossword_done", "s-1", t0)
		must(svc.ApplyMessage(ctx, proj, m))(t)
		o := order("77", "shp-evt-77", customer.OrderPaid, customer.OrderPaid, "stanley", 900, t0)
		must2o(t)(svc.ApplyOrder(ctx, proj, o))
		clock.Advance(7*24*time.Hour + 23*time.Hour)
		if got := must(svc.ApplyMessage(ctx, proj, m))(t); !got.Duplicate {
			t.Fatal("a message repeated after 7 days was applied again")
		}
		if got := must2o(t)(svc.ApplyOrder(ctx, proj, o)); !got.Duplicate {
			t.Fatal("an order delivery repeated after 7 days was applied again")
		}
		p := must(svc.FindCustomer(ctx, proj, "stanley"))(t)
		counts := must(svc.EventCounts(ctx, proj, p.ID))(t)
		if len(counts) != 1 || counts[0].Total != 1 || p.Orders.Count != 1 {
			t.Fatalf("counts %+v, orders %d", counts, p.Orders.Count)
		}
	})
}

// TestActivityFilterReachesOlderEntries: a filtered activity listing finds
// matching entries older than the latest page.
func TestActivityFilterReachesOlderEntries(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(t, s, nil)
		for i := range 150 {
			must(svc.ApplyMessage(ctx, proj, identify("phyllis", fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second), map[string]any{"n": i})))(t)
		}
		p := must(svc.FindCustomer(ctx, proj, "phyllis"))(t)
		acts := must(svc.Activity(ctx, proj, p.ID, audience.ActivityFilter{Limit: 10, Type: "customer.created"}))(t)
		if len(acts) != 1 {
			t.Fatalf("customer.created activities = %d, want 1", len(acts))
		}
		if all := must(svc.Activity(ctx, proj, p.ID, audience.ActivityFilter{}))(t); len(all) != audience.MaxActivity {
			t.Fatalf("unfiltered listing = %d entries, want %d", len(all), audience.MaxActivity)
		}
	})
}
