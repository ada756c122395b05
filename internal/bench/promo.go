package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/internal/app"
)

// DynamoDB on-demand prices, us-east-1, dollars per million request units.
const (
	dollarsPerMillionWRU = 0.625
	dollarsPerMillionRRU = 0.125
)

// Design targets (DESIGN.md, Performance).
const (
	targetP99     = 5 * time.Millisecond
	targetHotCode = 5000 // redemptions per second on one shared code
)

// PromoConfig scales and labels one engine's promotion-engine runs.
type PromoConfig struct {
	Engine string // the table's engine column
	// Size is the operations of a 64-client run; 16 clients run Size/4 and
	// one client Size/10 (at least 100), so the slow single-client runs
	// stay short.
	Size int64
	// HTTP adds end-to-end runs at 64 clients through the HTTP adapter on a
	// loopback server, with real API keys.
	HTTP bool
	// Target marks this engine's 64-client rows with the design targets
	// (they are set for the embedded engine).
	Target bool
}

// Promo measures validation and redemption through promo.Service on store
// s: latency at 1, 16 and 64 concurrent clients for a campaign's unique
// codes, a shared code and a gift card; redemptions per second on one hot
// shared code; refusals on a limited shared code; and, on DynamoDB, the
// capacity units each operation consumed and what a million of them cost.
// Every operation's answer is checked, and the counters are checked
// afterwards (no over-redemption, exact gift balance); an unexpected error
// ends the run with that error.
func Promo(ctx context.Context, r *Report, s core.Store, cfg PromoConfig) error {
	b := &promoBench{r: r, cfg: cfg, app: app.New(s, core.SystemClock{})}
	b.dyn, _ = s.(*dynamo.Store)
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("promo setup: %w", err)
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	return b.verify(ctx)
}

type promoBench struct {
	r   *Report
	cfg PromoConfig
	app *app.App
	dyn *dynamo.Store // nil on other engines

	project   string
	keys      []httpKey // one server key per HTTP client
	codes     []string  // the campaign's unique codes, each redeemed once
	nextCode  atomic.Int64
	customers []string // source ids of existing customers

	sharedOK, giftOK *atomic.Int64 // successful redemptions of the shared code and of the gift cards
	limit            int64         // uses of the limited code
	limitedOK        atomic.Int64
}

type httpKey struct{ id, token string }

const (
	sharedCode  = "BENCH-SHARED"
	limitedCode = "BENCH-LIMITED"
	giftCards   = 256 // gift cards BENCH-GIFT-000…255, debited in turn
	whatUnique  = "unique campaign code + customer"
	whatShared  = "shared code, no limit"
	whatGift    = "gift card (256 cards)"
	giftAmount  = int64(1) << 40 // cents: never runs out during the bench
	giftDebit   = int64(100)
	orderAmount = int64(10000)
	nCustomers  = 100
	httpClients = 64
)

// workload is one kind of operation, at the service and over HTTP.
type workload struct {
	name    string // e.g. "validate, shared code"
	what    string // e.g. "shared code", for the cost rows
	kind    string // "validation" or "redemption", for the cost rows
	service func(ctx context.Context, seq int64) error
	http    func(ctx context.Context, c *apiClient, seq int64) error
}

// level is a number of concurrent clients and the operations they run.
type level struct {
	workers int
	ops     int64
}

func levels(size int64) []level {
	return []level{{1, max(size/10, min(size, 100))}, {16, max(size/4, 1)}, {64, size}}
}

// codesNeeded is how many unique codes the redemption runs consume.
func (b *promoBench) codesNeeded() int64 {
	var n int64
	for _, l := range levels(b.cfg.Size) {
		n += l.ops
	}
	if b.cfg.HTTP {
		n += b.cfg.Size
	}
	return n
}

func (b *promoBench) setup(ctx context.Context) error {
	a := b.app
	nkeys := 1
	if b.cfg.HTTP {
		// The HTTP adapter limits each key to 500 requests/s (burst 1000), as
		// a tenant's policy; 64 clients with one key each measure the engine,
		// not the limiter. A refused (429) request fails the run.
		nkeys = httpClients
	}
	for range nkeys {
		k, err := a.Projects.CreateKeys(ctx, "bench")
		if err != nil {
			return err
		}
		b.project = k.ProjectID
		b.keys = append(b.keys, httpKey{k.AppID, k.AppToken})
	}
	p := b.project
	percent := 10.0
	if _, err := a.Promo.CreateVoucher(ctx, p, promo.VoucherInput{Code: sharedCode, Type: promo.TypeDiscount,
		Discount: &promo.Discount{Type: "PERCENT", PercentOff: &percent}}); err != nil {
		return err
	}
	b.limit = b.cfg.Size / 2
	if _, err := a.Promo.CreateVoucher(ctx, p, promo.VoucherInput{Code: limitedCode, Type: promo.TypeDiscount,
		Discount: &promo.Discount{Type: "PERCENT", PercentOff: &percent}, Redemption: &promo.RedemptionLimit{Quantity: &b.limit}}); err != nil {
		return err
	}
	for i := range giftCards {
		if _, err := a.Promo.CreateVoucher(ctx, p, promo.VoucherInput{Code: giftCode(int64(i)), Type: promo.TypeGift,
			Gift: &promo.Gift{Amount: giftAmount}}); err != nil {
			return err
		}
	}
	off, once := int64(500), int64(1)
	camp, err := a.Promo.CreateCampaign(ctx, p, promo.CampaignInput{Name: "bench-unique", CampaignType: promo.CampaignDiscountCoupons,
		Voucher: promo.CampaignVoucher{Type: promo.TypeDiscount, Discount: &promo.Discount{Type: "AMOUNT", AmountOff: &off},
			Redemption: &promo.RedemptionLimit{Quantity: &once}, CodeConfig: &promo.CodeConfig{Length: 10, Prefix: "B-"}}})
	if err != nil {
		return err
	}
	n := b.codesNeeded()
	b.r.Step("%s: generating %d unique codes (redemption limit 1 each) and %d customers", b.cfg.Engine, n, nCustomers)
	t0 := time.Now()
	if b.codes, err = a.Promo.GenerateCodes(ctx, p, camp.ID, n, nil); err != nil {
		return err
	}
	if int64(len(b.codes)) != n {
		return fmt.Errorf("generated %d codes, want %d", len(b.codes), n)
	}
	b.r.Add(Row{Measure: "unique code generation (campaign, 25 codes per transaction)", Engine: b.cfg.Engine,
		Value: fmt.Sprintf("%.0f codes/s", float64(n)/time.Since(t0).Seconds()), Note: fmt.Sprintf("%d codes", n)})
	for i := range nCustomers {
		src := fmt.Sprintf("bench-customer-%03d", i)
		if _, err := a.Customers.Resolve(ctx, p, customer.Ref{SourceID: src}); err != nil {
			return err
		}
		b.customers = append(b.customers, src)
	}
	return nil
}

// giftCode is the gift card operation seq debits: a card is one customer's,
// so the cards take turns rather than 64 clients debiting one card at once.
func giftCode(seq int64) string { return fmt.Sprintf("BENCH-GIFT-%03d", seq%giftCards) }

// stack is the request of one validation or redemption.
func stack(code string, credits int64, customerSource string) promo.StackInput {
	in := promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: code}}, Order: &promo.Order{Amount: orderAmount}}
	if credits > 0 {
		in.Redeemables[0].Gift = &promo.GiftCredits{Credits: credits}
	}
	if customerSource != "" {
		in.Customer = &promo.Customer{SourceID: customerSource}
	}
	return in
}

// uniqueInput: a campaign code for one of the known customers (codes are
// usually published to a customer, who redeems at checkout). Validation
// cycles over the codes; redemption takes each exactly once.
func (b *promoBench) uniqueInput(seq int64, redeem bool) (promo.StackInput, error) {
	i := seq % int64(len(b.codes))
	if redeem {
		i = b.nextCode.Add(1) - 1
		if i >= int64(len(b.codes)) {
			return promo.StackInput{}, fmt.Errorf("ran out of unique codes after %d", len(b.codes))
		}
	}
	return stack(b.codes[i], 0, b.customers[seq%int64(len(b.customers))]), nil
}

func checkValid(code string, res promo.ValidationResult) error {
	if res.Valid {
		return nil
	}
	for _, x := range res.InapplicableRedeemables {
		if x.Result.Error != nil {
			return fmt.Errorf("validate %s: inapplicable: %s (%s)", code, x.Result.Error.Key, x.Result.Error.Details)
		}
	}
	return fmt.Errorf("validate %s: not valid", code)
}

func (b *promoBench) validations() []workload {
	svc := b.app.Promo
	validate := func(in func(seq int64) (promo.StackInput, error)) (func(context.Context, int64) error, func(context.Context, *apiClient, int64) error) {
		return func(ctx context.Context, seq int64) error {
				x, err := in(seq)
				if err != nil {
					return err
				}
				res, err := svc.Validate(ctx, b.project, x)
				if err != nil {
					return fmt.Errorf("validate %s: %w", x.Redeemables[0].ID, err)
				}
				return checkValid(x.Redeemables[0].ID, res)
			}, func(ctx context.Context, c *apiClient, seq int64) error {
				x, err := in(seq)
				if err != nil {
					return err
				}
				var res promo.ValidationResult
				if err := c.post(ctx, seq, "/v1/validations", x, &res); err != nil {
					return err
				}
				return checkValid(x.Redeemables[0].ID, res)
			}
	}
	unique := func(seq int64) (promo.StackInput, error) { return b.uniqueInput(seq, false) }
	shared := func(int64) (promo.StackInput, error) { return stack(sharedCode, 0, ""), nil }
	gift := func(seq int64) (promo.StackInput, error) { return stack(giftCode(seq), giftDebit, ""), nil }
	var out []workload
	for _, w := range []struct {
		what string
		in   func(int64) (promo.StackInput, error)
	}{{whatUnique, unique}, {"shared code", shared}, {whatGift, gift}} {
		s, h := validate(w.in)
		out = append(out, workload{name: "validate, " + w.what, what: w.what, kind: "validation", service: s, http: h})
	}
	return out
}

func (b *promoBench) redemptions() []workload {
	svc := b.app.Promo
	var sharedOK, giftOK atomic.Int64
	b.sharedOK, b.giftOK = &sharedOK, &giftOK
	redeem := func(in func(seq int64) (promo.StackInput, error), ok *atomic.Int64) (func(context.Context, int64) error, func(context.Context, *apiClient, int64) error) {
		count := func() {
			if ok != nil {
				ok.Add(1)
			}
		}
		return func(ctx context.Context, seq int64) error {
				x, err := in(seq)
				if err != nil {
					return err
				}
				if _, err := svc.Redeem(ctx, b.project, x); err != nil {
					return fmt.Errorf("redeem %s: %w", x.Redeemables[0].ID, err)
				}
				count()
				return nil
			}, func(ctx context.Context, c *apiClient, seq int64) error {
				x, err := in(seq)
				if err != nil {
					return err
				}
				var res promo.RedeemResult
				if err := c.post(ctx, seq, "/v1/redemptions", x, &res); err != nil {
					return err
				}
				if len(res.Redemptions) != 1 || res.Redemptions[0].Result != "SUCCESS" {
					return fmt.Errorf("redeem %s over HTTP: unexpected answer %+v", x.Redeemables[0].ID, res)
				}
				count()
				return nil
			}
	}
	unique := func(seq int64) (promo.StackInput, error) { return b.uniqueInput(seq, true) }
	shared := func(int64) (promo.StackInput, error) { return stack(sharedCode, 0, ""), nil }
	gift := func(seq int64) (promo.StackInput, error) { return stack(giftCode(seq), giftDebit, ""), nil }
	var out []workload
	for _, w := range []struct {
		what string
		in   func(int64) (promo.StackInput, error)
		ok   *atomic.Int64
	}{{whatUnique, unique, nil}, {whatShared, shared, &sharedOK}, {whatGift + " debit", gift, &giftOK}} {
		s, h := redeem(w.in, w.ok)
		out = append(out, workload{name: "redeem, " + w.what, what: w.what, kind: "redemption", service: s, http: h})
	}
	return out
}

func (b *promoBench) measure(ctx context.Context) error {
	b.r.Note("Validation and redemption latencies are closed loops: each client sends its next request when the previous one is answered, " +
		"so once the cores are busy, latency ≈ clients ÷ throughput (Little's law): a p99 of 5 ms at 64 clients needs well over 12,800 operations/s. " +
		"promo.Service rows time the call in a goroutine that yields between calls, as a server goroutine reading its next request does; " +
		"HTTP rows time whole requests from a client in the same process, which shares the cores with the server.")
	vals, reds := b.validations(), b.redemptions()
	// Validations first: they must find the unique codes unredeemed.
	for _, w := range vals {
		if err := b.atLevels(ctx, w); err != nil {
			return err
		}
	}
	if b.cfg.HTTP {
		if err := b.overHTTP(ctx, vals); err != nil {
			return err
		}
	}
	for _, w := range reds {
		if err := b.atLevels(ctx, w); err != nil {
			return err
		}
	}
	if b.cfg.HTTP {
		if err := b.overHTTP(ctx, reds); err != nil {
			return err
		}
	}
	return b.limited(ctx)
}

// atLevels runs w at the service level at 1, 16 and 64 clients. After the
// 64-client run it adds, on DynamoDB, the capacity each operation consumed;
// after the shared code's, the hot-code throughput row.
func (b *promoBench) atLevels(ctx context.Context, w workload) error {
	for _, lv := range levels(b.cfg.Size) {
		b.r.Step("%s: %s, %s, %d operations", b.cfg.Engine, w.name, clients(lv.workers), lv.ops)
		b.resetUsage()
		l := Load(ctx, lv.workers, lv.ops, w.service)
		if l.Err != nil {
			return fmt.Errorf("%s, %d clients: %d errors; first: %w", w.name, lv.workers, l.Errors, l.Err)
		}
		b.r.Add(b.latencyRow(fmt.Sprintf("%s, %s", w.name, clients(lv.workers)), lv.workers, l, "promo.Service"))
		if lv.workers != 64 {
			continue
		}
		if err := b.costRows(w.what, w.kind, l); err != nil {
			return err
		}
		if w.kind == "redemption" && w.what == whatShared {
			b.r.Add(b.hotRow("redemptions/s on one hot shared code, 64 clients", l, "promo.Service; same run as the row above"))
		}
	}
	return nil
}

func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}

func (b *promoBench) latencyRow(measure string, workers int, l Latencies, note string) Row {
	row := Row{Measure: measure, Engine: b.cfg.Engine, Value: l.String(), Note: note}
	if b.cfg.Target && workers == 64 {
		row.Target = "p99 ≤ " + targetP99.String()
		row.Note = verdict(l.P99 <= targetP99) + "; " + note
	}
	return row
}

func (b *promoBench) hotRow(measure string, l Latencies, note string) Row {
	row := Row{Measure: measure, Engine: b.cfg.Engine, Value: fmt.Sprintf("%.0f redemptions/s", l.PerSecond()), Note: note}
	if b.cfg.Target {
		row.Target = fmt.Sprintf("≥ %d/s", targetHotCode)
		row.Note = verdict(l.PerSecond() >= targetHotCode) + "; " + note
	}
	if b.dyn != nil {
		row.Note += "; the emulator's figure: on AWS one item takes at most 1,000 WCU/s, " +
			"so at 2 WCU per transactional update one code tops out near 500 redemptions/s"
	}
	return row
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**missed**"
}

func (b *promoBench) resetUsage() {
	if b.dyn != nil {
		b.dyn.ResetUsage()
	}
}

// costRows adds, on DynamoDB, the capacity units the run consumed per
// operation (as ReturnConsumedCapacity reported them) and their on-demand
// price per million operations.
func (b *promoBench) costRows(name, kind string, l Latencies) error {
	if b.dyn == nil {
		return nil
	}
	if l.Ops == 0 {
		return errors.New("no operations to divide the capacity by")
	}
	usage := b.dyn.Usage()
	n := float64(l.Ops)
	var wcu, rcu float64
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(usage)) {
		u := usage[kind]
		wcu += u.Write
		rcu += u.Read
		parts = append(parts, fmt.Sprintf("%s %.2f calls, %.2f WCU, %.2f RCU", kind, float64(u.Calls)/n, u.Write/n, u.Read/n))
	}
	wcu, rcu = wcu/n, rcu/n
	b.r.Add(Row{Measure: fmt.Sprintf("DynamoDB units per %s, %s", kind, name), Engine: b.cfg.Engine,
		Value: fmt.Sprintf("%.2f WCU, %.2f RCU", wcu, rcu),
		Note:  fmt.Sprintf("counted over %d operations at 64 clients; per operation: %s", l.Ops, strings.Join(parts, "; "))})
	b.r.Add(Row{Measure: fmt.Sprintf("dollars per million %ss, %s", kind, name), Engine: b.cfg.Engine,
		Value: fmt.Sprintf("$%.2f", wcu*dollarsPerMillionWRU+rcu*dollarsPerMillionRRU),
		Note:  fmt.Sprintf("on demand: %.2f WRU × $%.3f + %.2f RRU × $%.3f", wcu, dollarsPerMillionWRU, rcu, dollarsPerMillionRRU)})
	b.r.Note("DynamoDB units are counted from ReturnConsumedCapacity (reset before each run, divided by the operations completed), " +
		"except transactions: DynamoDB Local reports a flat 4 WCU for any TransactWriteItems call, so their units are counted by DynamoDB's rule " +
		"(2 write units per started KB of each item; deletes and condition checks at the 1 KB minimum) from the items sent; " +
		"dollars use on-demand prices of $0.625 per million write and $0.125 per million read request units. " +
		"A cancelled transaction (a refused bound, a conflict) reports no consumed capacity, so where runs retry or refuse, the count is a floor. " +
		"DynamoDB Local's latencies and throughput are the emulator's on this machine, not AWS's.")
	return nil
}

// limited redeems a shared code limited to Size/2 uses Size times from 64
// clients: half succeed, half are refused with quantity_exceeded (and stored
// as failed redemptions). The refusals are expected and counted apart.
func (b *promoBench) limited(ctx context.Context) error {
	name := fmt.Sprintf("redeem, shared code limited to %d uses, %d attempts", b.limit, b.cfg.Size)
	b.r.Step("%s: %s, 64 clients", b.cfg.Engine, name)
	b.resetUsage()
	svc := b.app.Promo
	l := Load(ctx, 64, b.cfg.Size, func(ctx context.Context, seq int64) error {
		_, err := svc.Redeem(ctx, b.project, stack(limitedCode, 0, ""))
		switch {
		case err == nil:
			b.limitedOK.Add(1)
			return nil
		case core.ErrorKey(err) == promo.KeyQuantityExceeded:
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return fmt.Errorf("redeem %s: %w", limitedCode, err)
	})
	if l.Err != nil {
		return fmt.Errorf("%s: %d errors; first: %w", name, l.Errors, l.Err)
	}
	if ok := b.limitedOK.Load(); ok != b.limit || l.Refused != b.cfg.Size-b.limit {
		return fmt.Errorf("%s: %d succeeded and %d refused, want %d and %d", name, ok, l.Refused, b.limit, b.cfg.Size-b.limit)
	}
	row := b.latencyRow(name+", 64 clients", 0, l, fmt.Sprintf("promo.Service; %d succeeded, %d refused with quantity_exceeded (expected, stored as failed redemptions)", b.limitedOK.Load(), l.Refused))
	b.r.Add(row)
	return b.costRows(fmt.Sprintf("limited shared code (%d successes, %d refusals)", b.limitedOK.Load(), l.Refused), "redemption attempt", l)
}

// verify reads the counters back: a shared code's redeemed quantity and a
// gift card's balance must match the successful redemptions exactly.
func (b *promoBench) verify(ctx context.Context) error {
	svc := b.app.Promo
	v, err := svc.GetVoucher(ctx, b.project, sharedCode)
	if err != nil {
		return err
	}
	if want := b.sharedOK.Load(); v.Redemption.RedeemedQuantity != want {
		return fmt.Errorf("%s: redeemed_quantity %d, want %d", sharedCode, v.Redemption.RedeemedQuantity, want)
	}
	var balance int64
	for i := range int64(giftCards) {
		g, err := svc.GetVoucher(ctx, b.project, giftCode(i))
		if err != nil {
			return err
		}
		balance += g.Gift.Balance
	}
	if want := giftCards*giftAmount - giftDebit*b.giftOK.Load(); balance != want {
		return fmt.Errorf("gift cards: balances add up to %d, want %d", balance, want)
	}
	lim, err := svc.GetVoucher(ctx, b.project, limitedCode)
	if err != nil {
		return err
	}
	if lim.Redemption.RedeemedQuantity != b.limit {
		return fmt.Errorf("%s: redeemed_quantity %d, want exactly its limit %d", limitedCode, lim.Redemption.RedeemedQuantity, b.limit)
	}
	return nil
}

// overHTTP runs each workload at 64 clients through the HTTP adapter
// (app.New(...).Handler) on a loopback server: JSON encoding, routing,
// key authentication and the service, as a shop's backend sees it.
func (b *promoBench) overHTTP(ctx context.Context, ws []workload) error {
	srv := httptest.NewServer(b.app.Handler(app.HTTPOptions{Engine: b.cfg.Engine}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 2 * httpClients, MaxIdleConnsPerHost: 2 * httpClients, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &apiClient{base: srv.URL, http: &http.Client{Transport: tr, Timeout: time.Minute}, keys: b.keys}
	for _, w := range ws {
		b.r.Step("%s: %s over HTTP, %d clients, %d requests", b.cfg.Engine, w.name, httpClients, b.cfg.Size)
		l := Load(ctx, httpClients, b.cfg.Size, func(ctx context.Context, seq int64) error { return w.http(ctx, c, seq) })
		if l.Err != nil {
			return fmt.Errorf("%s over HTTP: %d errors; first: %w", w.name, l.Errors, l.Err)
		}
		b.r.Add(b.latencyRow(fmt.Sprintf("%s, HTTP end to end, %d clients", w.name, httpClients), httpClients, l,
			fmt.Sprintf("loopback HTTP/1.1 keep-alive, client in the same process; %d server keys", len(b.keys))))
		if w.kind == "redemption" && w.what == whatShared {
			b.r.Add(b.hotRow("redemptions/s on one hot shared code, HTTP end to end, 64 clients", l, "same run as the row above"))
		}
	}
	return nil
}

// apiClient calls the server API with one of the keys.
type apiClient struct {
	base string
	http *http.Client
	keys []httpKey
}

// post sends body as JSON and decodes a 200 answer into out; any other
// status is an error carrying the answer.
func (c *apiClient) post(ctx context.Context, seq int64, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	k := c.keys[seq%int64(len(c.keys))]
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Id", k.id)
	req.Header.Set("X-App-Token", k.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(answer))
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}
