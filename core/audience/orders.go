package audience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// Order is an order as Voucherify's orders API shows it. Amounts are in
// minor units.
type Order struct {
	ID             string         `json:"id"`
	SourceID       string         `json:"source_id"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      *time.Time     `json:"updated_at"`
	Status         string         `json:"status"` // CREATED, PAID, CANCELED, REFUNDED
	Amount         int64          `json:"amount"`
	RefundedAmount int64          `json:"refunded_amount,omitempty"`
	Currency       string         `json:"currency,omitempty"`
	Items          []OrderItem    `json:"items"`
	DiscountCodes  []string       `json:"discount_codes,omitempty"`
	Metadata       map[string]any `json:"metadata"`
	CustomerID     string         `json:"customer_id,omitempty"`
	Customer       map[string]any `json:"customer,omitempty"`
	Source         string         `json:"source,omitempty"` // shopify, woocommerce, webhook, api
	Object         string         `json:"object"`           // "order"
}

// OrderItem is one order line as Voucherify shows it.
type OrderItem struct {
	SKUID     string `json:"sku_id,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Quantity  int64  `json:"quantity"`
	Price     int64  `json:"price"`
	Amount    int64  `json:"amount"`
	Object    string `json:"object"` // "order_item"
}

// orderRecord is the stored order and what it currently adds to its
// customer's aggregates, so an update or cancellation applies the
// difference.
type orderRecord struct {
	Order
	Counted *contribution `json:"counted,omitempty"`
	// NotifiedAt is when the latest applied notification says its change
	// happened: an older one arriving late (webhooks are not delivered in
	// order) does not roll the order back.
	NotifiedAt time.Time `json:"notified_at"`
}

type contribution struct {
	Amount   int64            `json:"amount"`
	SKUs     map[string]int64 `json:"skus,omitempty"`
	Products map[string]int64 `json:"products,omitempty"`
}

func orderKey(p, sourceID string) core.Key { return core.Key{PK: p + "#order#" + sourceID, SK: "o"} }
func orderIDKey(p, id string) core.Key     { return core.Key{PK: p + "#orderid#" + id, SK: "o"} }
func orderListKey(p, id string) core.Key   { return core.Key{PK: ordersPartition(p), SK: id} }
func ordersPartition(p string) string      { return p + "#orders" }
func upper(s string) string                { return strings.ToUpper(s) }
func statusOf(o customer.Order) string     { return upper(o.Status) }
func isCounted(status string) bool {
	return status == customer.OrderPaid || status == customer.OrderRefunded
}
func orderEventType(transition string) string { return "customer.order." + transition }

// ApplyOrder applies one order notification exactly once (by source and
// delivery id): the order is stored, its customer's aggregates move by the
// difference it makes, and a customer.order.<transition> event is written.
func (s *Service) ApplyOrder(ctx context.Context, p string, o customer.Order) (Order, Outcome, error) {
	if err := checkOrder(o); err != nil {
		return Order{}, Outcome{}, err
	}
	if o.At.IsZero() {
		o.At = s.now()
	}
	var saved Order
	identity := firstNonEmpty(o.Customer.CustomerID, o.Customer.ID, o.Customer.Email, o.ID)
	u, dup, err := s.once(ctx, p, identity, orderSource(o), o.DeliveryID, func(u *unit) error {
		var err error
		saved, err = u.order(o)
		u.result = func() any { return saved }
		return err
	})
	if dup {
		got, gerr := s.GetOrder(ctx, p, o.ID)
		return got, Outcome{Duplicate: true, CustomerID: got.CustomerID}, gerr
	}
	if err != nil {
		return Order{}, Outcome{}, err
	}
	return saved, u.out, nil
}

// orderSource is the dedupe namespace of an order notification's delivery
// id: apart from messages', so an API client reusing an idempotency key for
// an order and an event does not have one taken for the other.
func orderSource(o customer.Order) string { return "order:" + o.Source }

func checkOrder(o customer.Order) error {
	var probs []string
	if o.Source == "" {
		probs = append(probs, "order without a source")
	}
	if o.ID == "" || len(o.ID) > 200 {
		probs = append(probs, "order id: required, at most 200 characters")
	}
	switch o.Transition {
	case customer.OrderCreated, customer.OrderUpdated, customer.OrderPaid, customer.OrderCanceled, customer.OrderRefunded:
	default:
		probs = append(probs, fmt.Sprintf("unknown order transition %q", o.Transition))
	}
	switch o.Status {
	case customer.OrderCreated, customer.OrderPaid, customer.OrderCanceled, customer.OrderRefunded:
	default:
		probs = append(probs, fmt.Sprintf("unknown order status %q", o.Status))
	}
	if o.Amount < 0 || o.RefundedAmount < 0 || o.Refund < 0 {
		probs = append(probs, "amounts must not be negative")
	}
	for i, it := range o.Items {
		if it.Quantity < 0 || it.Price < 0 {
			probs = append(probs, fmt.Sprintf("items[%d]: quantity and price must not be negative", i))
		}
	}
	if len(probs) > 0 {
		return core.KeyedError(core.CodeInvalid, "invalid_order", "%s", strings.Join(probs, "; "))
	}
	return nil
}

// order builds the unit applying o.
func (u *unit) order(o customer.Order) (Order, error) {
	rec, item, err := u.s.loadOrder(u.ctx, u.p, o.ID)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return Order{}, err
	}
	isNew := err != nil
	if !isNew && o.Transition != customer.OrderRefunded && o.At.Before(rec.NotifiedAt) {
		// A late notification: the order already moved past it.
		u.markSeen(orderSource(o), o.DeliveryID, rec.CustomerID)
		u.out.CustomerID = rec.CustomerID
		return rec.Order, nil
	}
	if isNew {
		rec = orderRecord{Order: Order{ID: u.s.IDs.New("ord"), SourceID: o.ID, CreatedAt: u.now, Object: "order", Metadata: map[string]any{}}}
	}
	prevRefunded := rec.RefundedAmount
	u.fillOrder(&rec.Order, o, isNew)
	if o.At.After(rec.NotifiedAt) {
		rec.NotifiedAt = o.At
	}

	var c *custState
	if o.Customer.ID != "" || o.Customer.Email != "" || o.Customer.CustomerID != "" || rec.CustomerID != "" {
		switch {
		case rec.CustomerID != "":
			c, err = u.load(rec.CustomerID)
		case o.Customer.CustomerID != "":
			c, err = u.load(o.Customer.CustomerID)
		default:
			c, err = u.resolve(o.Customer.ID, "", strings.ToLower(o.Customer.Email))
		}
		if err != nil {
			return Order{}, err
		}
		u.orderCustomer(c, o)
		if rec.CustomerID != c.prof.ID {
			u.ops = append(u.ops, core.Put(core.Item{Key: core.Key{PK: customer.Partition(u.p, c.prof.ID), SK: "ord#" + o.ID}, Version: 1}))
		}
		rec.CustomerID = c.prof.ID
		rec.Customer = publicRef(c.prof)
		u.out.CustomerID = c.prof.ID
		u.account(c, &rec, prevRefunded, o)
		data := map[string]any{"order": rec.Order, "customer": publicRef(c.prof)}
		c.outbox = append(c.outbox, outboxEvent{types: []string{orderEventType(o.Transition)}, data: data})
		c.tl = append(c.tl, timelineEntry{Type: orderEventType(o.Transition), At: o.At,
			Data: map[string]any{"order_id": rec.ID, "source_id": rec.SourceID, "amount": rec.Amount, "status": rec.Status}})
	}
	u.markSeen(orderSource(o), o.DeliveryID, rec.CustomerID)
	data, err := json.Marshal(rec)
	if err != nil {
		return Order{}, err
	}
	if isNew {
		u.ops = append(u.ops,
			core.Put(core.Item{Key: orderKey(u.p, o.ID), Version: 1, Data: data}, core.IfNotExists()),
			core.Put(core.Item{Key: orderIDKey(u.p, rec.ID), Version: 1, Data: []byte(o.ID)}),
			core.Put(core.Item{Key: orderListKey(u.p, rec.ID), Version: 1, Data: []byte(o.ID)}))
	} else {
		u.ops = append(u.ops, core.Put(core.Item{Key: orderKey(u.p, o.ID), Version: item.Version + 1, Data: data}, core.IfVersion(item.Version)))
	}
	return rec.Order, nil
}

func (u *unit) fillOrder(r *Order, o customer.Order, isNew bool) {
	r.Status = statusOf(o)
	if o.Amount > 0 || isNew {
		r.Amount = o.Amount
	}
	r.Currency = firstNonEmpty(o.Currency, r.Currency)
	r.Source = o.Source
	switch {
	case o.Refund > 0:
		r.RefundedAmount += o.Refund
	case o.RefundedAmount > 0:
		r.RefundedAmount = o.RefundedAmount
	}
	if len(o.Items) > 0 || o.Transition == customer.OrderCreated {
		r.Items = make([]OrderItem, 0, len(o.Items))
		for _, it := range o.Items {
			r.Items = append(r.Items, OrderItem{SKUID: it.SKU, ProductID: it.ProductID, Quantity: it.Quantity,
				Price: it.Price, Amount: it.Price * it.Quantity, Object: "order_item"})
		}
	}
	if len(o.DiscountCodes) > 0 {
		r.DiscountCodes = o.DiscountCodes
	}
	for k, v := range o.Metadata {
		if r.Metadata == nil {
			r.Metadata = map[string]any{}
		}
		r.Metadata[k] = v
	}
	now := u.now
	r.UpdatedAt = &now
}

// orderCustomer fills a customer's empty fields from the order.
func (u *unit) orderCustomer(c *custState, o customer.Order) {
	p := &c.prof
	if p.Name == "" {
		if n := strings.TrimSpace(o.Customer.FirstName + " " + o.Customer.LastName); n != "" {
			p.Name, c.dirty = n, true
		}
	}
	if p.Phone == "" && o.Customer.Phone != "" {
		p.Phone, c.dirty = o.Customer.Phone, true
	}
	if p.Email == "" && o.Customer.Email != "" {
		p.Email, c.dirty = strings.ToLower(o.Customer.Email), true
	}
}

// account moves c's aggregates by what the order now adds minus what it
// added before.
func (u *unit) account(c *custState, rec *orderRecord, prevRefunded int64, o customer.Order) {
	st := &c.prof.Orders
	old := rec.Counted
	var now *contribution
	if isCounted(o.Status) {
		now = &contribution{Amount: rec.Amount, SKUs: map[string]int64{}, Products: map[string]int64{}}
		for _, it := range rec.Items {
			if it.SKUID != "" {
				now.SKUs[it.SKUID] += it.Quantity
			}
			if it.ProductID != "" {
				now.Products[it.ProductID] += it.Quantity
			}
		}
	}
	switch {
	case old == nil && now != nil:
		st.Count++
		at := o.At
		if st.FirstAt == nil || at.Before(*st.FirstAt) {
			st.FirstAt = &at
		}
		if st.LastAt == nil || !at.Before(*st.LastAt) {
			st.LastAt, st.LastAmount = &at, rec.Amount
		}
	case old != nil && now == nil:
		st.Count--
	}
	var oldC contribution
	if old != nil {
		oldC = *old
	}
	var newC contribution
	if now != nil {
		newC = *now
	}
	st.TotalAmount += newC.Amount - oldC.Amount
	st.LargestAmount = max(st.LargestAmount, newC.Amount)
	skus := map[string]bool{}
	for k := range oldC.SKUs {
		skus[k] = true
	}
	for k := range newC.SKUs {
		skus[k] = true
	}
	for sku := range skus {
		dq := newC.SKUs[sku] - oldC.SKUs[sku]
		do := boolInt(newC.SKUs[sku] > 0) - boolInt(oldC.SKUs[sku] > 0)
		if dq == 0 && do == 0 {
			continue
		}
		if st.SKUs == nil {
			st.SKUs = map[string]*customer.SKUStats{}
		}
		cur := st.SKUs[sku]
		if cur == nil {
			cur = &customer.SKUStats{}
			st.SKUs[sku] = cur
		}
		cur.Quantity += dq
		cur.Orders += do
		if cur.Quantity <= 0 && cur.Orders <= 0 {
			delete(st.SKUs, sku)
		}
	}
	for pid := range mergeKeys(oldC.Products, newC.Products) {
		d := newC.Products[pid] - oldC.Products[pid]
		if d == 0 {
			continue
		}
		if st.Products == nil {
			st.Products = map[string]int64{}
		}
		st.Products[pid] += d
		if st.Products[pid] <= 0 {
			delete(st.Products, pid)
		}
	}
	if d := rec.RefundedAmount - prevRefunded; d != 0 {
		st.RefundedAmount += d
		if d > 0 {
			st.RefundCount++
		}
	}
	rec.Counted = now
	c.dirty = true
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func mergeKeys(a, b map[string]int64) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func (s *Service) loadOrder(ctx context.Context, p, sourceID string) (orderRecord, core.Item, error) {
	it, err := s.Store.Get(ctx, orderKey(p, sourceID))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return orderRecord{}, it, core.Errorf(core.CodeNotFound, "cannot find order with id %s", sourceID)
	}
	if err != nil {
		return orderRecord{}, it, err
	}
	var rec orderRecord
	return rec, it, json.Unmarshal(it.Data, &rec)
}

// GetOrder returns an order by its id (ord_…) or its source id.
func (s *Service) GetOrder(ctx context.Context, p, id string) (Order, error) {
	src := id
	if strings.HasPrefix(id, "ord_") {
		if it, err := s.Store.Get(ctx, orderIDKey(p, id)); err == nil {
			src = string(it.Data)
		} else if !errors.Is(err, core.ErrNotFound) {
			return Order{}, err
		}
	}
	rec, _, err := s.loadOrder(ctx, p, src)
	return rec.Order, err
}

// ListOrders lists orders, newest first.
func (s *Service) ListOrders(ctx context.Context, p string, limit int, cursor string) ([]Order, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: ordersPartition(p), Reverse: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]Order, 0, len(pg.Items))
	for _, it := range pg.Items {
		o, ok, err := s.listedOrder(ctx, p, it)
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, o)
		}
	}
	return out, pg.Next, nil
}

// eachOrder calls fn with every order of the project, newest first (oldest
// first when oldest is set), until fn fails or ctx ends.
func (s *Service) eachOrder(ctx context.Context, p string, oldest bool, fn func(Order) error) error {
	q := core.Query{PK: ordersPartition(p), Reverse: !oldest, Limit: core.MaxPageLimit}
	return core.Each(ctx, s.Store, q, func(it core.Item) error {
		o, ok, err := s.listedOrder(ctx, p, it)
		if err != nil || !ok {
			return err
		}
		return fn(o)
	})
}

// listedOrder is the order an entry of the order list names; false when it
// is gone since.
func (s *Service) listedOrder(ctx context.Context, p string, entry core.Item) (Order, bool, error) {
	rec, _, err := s.loadOrder(ctx, p, string(entry.Data))
	if errors.Is(err, core.ErrNotFound) {
		return Order{}, false, nil
	}
	return rec.Order, err == nil, err
}
