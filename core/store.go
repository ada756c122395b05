package core

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Store is the storage port: a single table of items addressed by a partition
// key and a sort key, offering what DynamoDB offers and no more, so that whatever
// works on the embedded engine also works on DynamoDB. The conformance suite in
// core/storetest is the definition of this contract; both engines pass it.
//
// All methods are safe for concurrent use. Every read is strongly consistent
// (it sees every write that returned before it started). Expired items (see
// Item.ExpiresAt) are invisible to every read and to IfExists/IfNotExists.
type Store interface {
	// Get returns the item at key, or an error matching ErrNotFound.
	Get(ctx context.Context, key Key) (Item, error)

	// BatchGet returns the items that exist among keys (at most MaxBatchGet,
	// no duplicates), keyed by Key. Missing items are simply absent.
	BatchGet(ctx context.Context, keys []Key) (map[Key]Item, error)

	// Query returns one page of the items of one partition in sort-key order
	// (descending when q.Reverse). Page.Next is empty exactly when no further
	// matching item exists; otherwise pass it as q.Cursor for the next page.
	Query(ctx context.Context, q Query) (Page, error)

	// Write applies 1..MaxTransactOps operations atomically: either every
	// condition holds and every operation is applied, or nothing is written and
	// the error matches ErrConditionFailed (FailedIndex tells which operation
	// failed first), ErrConflict (a concurrent transaction touched the same
	// items; safe to retry), ErrThrottled or ErrInvalid. No two operations may
	// address the same key.
	Write(ctx context.Context, ops ...Op) error

	// Update applies one update (numeric adds with optional bounds, sets,
	// conditions) atomically and returns the item as it is afterwards. Like
	// DynamoDB's UpdateItem it creates the item when it does not exist (unless a
	// condition forbids it), with missing numeric attributes counting as zero.
	// A violated bound or condition returns an error matching ErrConditionFailed.
	Update(ctx context.Context, u Update) (Item, error)

	// Close releases the engine's resources. Writes that returned before Close
	// are durable.
	Close() error
}

// Limits shared by both engines (DynamoDB's).
const (
	MaxTransactOps = 100        // operations in one Write
	MaxBatchGet    = 100        // keys in one BatchGet
	MaxItemBytes   = 400 * 1024 // one item, as DynamoDB counts it
	MaxTxBytes     = 4 << 20    // all items of one Write
	MaxPKBytes     = 2048
	MaxSKBytes     = 1024
	MaxPageLimit   = 1000
	DefaultLimit   = 100
)

// Key addresses one item.
type Key struct {
	PK string
	SK string
}

func (k Key) String() string { return k.PK + " / " + k.SK }

// Item is one stored record. Data is an opaque payload (the domain stores JSON);
// Nums are named integer attributes that conditions can compare and updates can
// add to atomically (usage counters, balances).
type Item struct {
	Key
	// Version is stored as given by Put and incremented by one by every Update.
	// Optimistic writers Put Version+1 with IfVersion(Version).
	Version int64
	Data    []byte
	Nums    map[string]int64
	// ExpiresAt is the time-to-live in Unix seconds; 0 means never. From that
	// second on the item is invisible, and the engine deletes it eventually.
	ExpiresAt int64
}

// Num returns the numeric attribute name, zero when absent.
func (it Item) Num(name string) int64 { return it.Nums[name] }

// Size is the item's size as DynamoDB bills and limits it: attribute names plus
// values. Both engines enforce MaxItemBytes with this one function.
func (it Item) Size() int {
	n := 2 + len(it.PK) + 2 + len(it.SK) + 1 + 21 // pk, sk, v
	if len(it.Data) > 0 {
		n += 1 + len(it.Data)
	}
	if it.ExpiresAt != 0 {
		n += 3 + 21
	}
	for name := range it.Nums {
		n += len(name) + 21
	}
	return n
}

// Page is one page of a Query.
type Page struct {
	Items []Item
	// Next is an opaque cursor for the following page; empty when there is none.
	Next string
}

// Query selects items of one partition. At most one of Prefix and the range
// (From/To, both inclusive, either may be empty for an open end) may be given.
type Query struct {
	PK      string
	Prefix  string
	From    string
	To      string
	Limit   int // 1..MaxPageLimit; 0 means DefaultLimit
	Reverse bool
	Cursor  string
}

// Validate reports every problem with q at once.
func (q Query) Validate() error {
	var probs []string
	if err := validPK(q.PK); err != "" {
		probs = append(probs, err)
	}
	if q.Prefix != "" && (q.From != "" || q.To != "") {
		probs = append(probs, "query: prefix and range are exclusive")
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		probs = append(probs, "query: from > to")
	}
	if q.Limit < 0 || q.Limit > MaxPageLimit {
		probs = append(probs, fmt.Sprintf("query: limit %d outside 0..%d", q.Limit, MaxPageLimit))
	}
	if q.Cursor != "" {
		if _, err := DecodeCursor(q.Cursor); err != nil {
			probs = append(probs, "query: bad cursor")
		}
	}
	return invalid(probs)
}

// PageLimit is the effective page size of q.
func (q Query) PageLimit() int {
	if q.Limit == 0 {
		return DefaultLimit
	}
	return q.Limit
}

// Matches reports whether sk is selected by q's prefix or range (not the cursor).
func (q Query) Matches(sk string) bool {
	if q.Prefix != "" {
		return strings.HasPrefix(sk, q.Prefix)
	}
	return (q.From == "" || sk >= q.From) && (q.To == "" || sk <= q.To)
}

// CmpOp compares a numeric attribute with a value.
type CmpOp string

// Comparison operators for IfNum.
const (
	EQ CmpOp = "="
	NE CmpOp = "<>"
	LT CmpOp = "<"
	LE CmpOp = "<="
	GT CmpOp = ">"
	GE CmpOp = ">="
)

// Compare reports whether a op b.
func (op CmpOp) Compare(a, b int64) bool {
	switch op {
	case EQ:
		return a == b
	case NE:
		return a != b
	case LT:
		return a < b
	case LE:
		return a <= b
	case GT:
		return a > b
	case GE:
		return a >= b
	}
	return false
}

// CondKind names a kind of condition.
type CondKind int

// Condition kinds.
const (
	CondExists CondKind = iota + 1
	CondNotExists
	CondVersion
	CondNum
)

// Cond is a condition on the current state of the item an operation addresses.
// Conditions of one operation are combined with AND.
type Cond struct {
	Kind    CondKind
	Version int64  // CondVersion
	Attr    string // CondNum
	Op      CmpOp  // CondNum
	Value   int64  // CondNum
}

// IfExists holds when the item exists (and has not expired).
func IfExists() Cond { return Cond{Kind: CondExists} }

// IfNotExists holds when the item does not exist (or has expired).
func IfNotExists() Cond { return Cond{Kind: CondNotExists} }

// IfVersion holds when the item exists with exactly this version.
func IfVersion(v int64) Cond { return Cond{Kind: CondVersion, Version: v} }

// IfNum holds when the item exists and its numeric attribute attr exists and
// compares with value by op. A missing attribute fails every comparison, as in
// DynamoDB.
func IfNum(attr string, op CmpOp, value int64) Cond {
	return Cond{Kind: CondNum, Attr: attr, Op: op, Value: value}
}

// Holds evaluates c against the current item (nil when absent or expired).
// Engines that evaluate conditions themselves use this one function.
func (c Cond) Holds(cur *Item) bool {
	switch c.Kind {
	case CondExists:
		return cur != nil
	case CondNotExists:
		return cur == nil
	case CondVersion:
		return cur != nil && cur.Version == c.Version
	case CondNum:
		if cur == nil {
			return false
		}
		v, ok := cur.Nums[c.Attr]
		return ok && c.Op.Compare(v, c.Value)
	}
	return false
}

// Add adds Delta to a numeric attribute (missing counts as zero). When Max or
// Min is set the update fails with ErrConditionFailed instead of leaving the
// result above Max or below Min.
type Add struct {
	Attr  string
	Delta int64
	Max   *int64
	Min   *int64
}

// AddBy adds delta to attr without a bound.
func AddBy(attr string, delta int64) Add { return Add{Attr: attr, Delta: delta} }

// AddUpTo adds delta to attr unless the result would exceed max.
func AddUpTo(attr string, delta, max int64) Add { return Add{Attr: attr, Delta: delta, Max: &max} }

// AddDownTo adds delta (usually negative) to attr unless the result would fall below min.
func AddDownTo(attr string, delta, min int64) Add { return Add{Attr: attr, Delta: delta, Min: &min} }

// Within reports whether cur+Delta respects the bounds.
func (a Add) Within(cur int64) bool {
	n := cur + a.Delta
	return (a.Max == nil || n <= *a.Max) && (a.Min == nil || n >= *a.Min)
}

// Update changes one item in place: numeric adds and sets, and optionally its
// payload and time-to-live. It increments Version.
type Update struct {
	Key
	Adds    []Add
	SetNums map[string]int64
	// Data replaces the payload when non-nil.
	Data []byte
	// ExpiresAt replaces the time-to-live when non-nil (0 removes it).
	ExpiresAt *int64
	Conds     []Cond
}

// Apply returns cur (nil when absent) with u applied, or false when a bound is
// violated. It does not check u.Conds.
func (u Update) Apply(cur *Item) (Item, bool) {
	var next Item
	if cur != nil {
		next = *cur
		next.Nums = make(map[string]int64, len(cur.Nums)+len(u.Adds))
		for k, v := range cur.Nums {
			next.Nums[k] = v
		}
	} else {
		next = Item{Key: u.Key, Nums: map[string]int64{}}
	}
	for k, v := range u.SetNums {
		next.Nums[k] = v
	}
	for _, a := range u.Adds {
		v := next.Nums[a.Attr]
		if !a.Within(v) {
			return Item{}, false
		}
		next.Nums[a.Attr] = v + a.Delta
	}
	if u.Data != nil {
		next.Data = u.Data
	}
	if u.ExpiresAt != nil {
		next.ExpiresAt = *u.ExpiresAt
	}
	if len(next.Nums) == 0 {
		next.Nums = nil
	}
	next.Version++
	return next, true
}

// OpKind names the kind of a write operation.
type OpKind int

// Operation kinds of a Write.
const (
	OpPut OpKind = iota + 1
	OpUpdate
	OpDelete
	OpCheck
)

// Op is one operation of a transactional Write. Build it with Put, Delete,
// Check or UpdateOp.
type Op struct {
	Kind   OpKind
	Item   Item   // OpPut
	Update Update // OpUpdate
	Key    Key    // OpDelete, OpCheck
	Conds  []Cond // OpPut, OpDelete, OpCheck (OpUpdate carries its own)
}

// Put writes item whole, replacing any existing item at its key.
func Put(item Item, conds ...Cond) Op { return Op{Kind: OpPut, Item: item, Conds: conds} }

// Delete removes the item at key (a no-op when absent, unless a condition says otherwise).
func Delete(key Key, conds ...Cond) Op { return Op{Kind: OpDelete, Key: key, Conds: conds} }

// Check writes nothing; the transaction fails unless conds hold on key.
func Check(key Key, conds ...Cond) Op { return Op{Kind: OpCheck, Key: key, Conds: conds} }

// UpdateOp makes u one operation of a transaction.
func UpdateOp(u Update) Op { return Op{Kind: OpUpdate, Update: u} }

// Target returns the key the operation addresses.
func (o Op) Target() Key {
	switch o.Kind {
	case OpPut:
		return o.Item.Key
	case OpUpdate:
		return o.Update.Key
	}
	return o.Key
}

// Conditions returns the operation's conditions.
func (o Op) Conditions() []Cond {
	if o.Kind == OpUpdate {
		return o.Update.Conds
	}
	return o.Conds
}

var attrName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ReservedAttrs are attribute names the engines use themselves.
var ReservedAttrs = map[string]bool{"pk": true, "sk": true, "v": true, "d": true, "ttl": true}

// ValidateWrite checks ops against the port's limits and reports every problem
// at once. Both engines call it before touching storage.
func ValidateWrite(ops []Op) error {
	var probs []string
	if len(ops) == 0 || len(ops) > MaxTransactOps {
		probs = append(probs, fmt.Sprintf("write: %d operations, want 1..%d", len(ops), MaxTransactOps))
	}
	seen := make(map[Key]bool, len(ops))
	total := 0
	for i, op := range ops {
		k := op.Target()
		if seen[k] {
			probs = append(probs, fmt.Sprintf("op %d: key %s addressed twice in one transaction", i, k))
		}
		seen[k] = true
		probs = append(probs, prefixed(i, validKey(k))...)
		for _, c := range op.Conditions() {
			probs = append(probs, prefixed(i, validCond(c))...)
		}
		switch op.Kind {
		case OpPut:
			probs = append(probs, prefixed(i, validItem(op.Item))...)
			total += op.Item.Size()
		case OpUpdate:
			probs = append(probs, prefixed(i, validUpdate(op.Update))...)
			total += Item{Key: k, Data: op.Update.Data, Nums: op.Update.SetNums}.Size()
		case OpDelete, OpCheck:
			total += len(k.PK) + len(k.SK)
		default:
			probs = append(probs, fmt.Sprintf("op %d: unknown kind %d", i, op.Kind))
		}
	}
	if total > MaxTxBytes {
		probs = append(probs, fmt.Sprintf("write: %d bytes, limit %d", total, MaxTxBytes))
	}
	return invalid(probs)
}

// ValidateUpdate checks one Update.
func ValidateUpdate(u Update) error {
	probs := validKey(u.Key)
	probs = append(probs, validUpdate(u)...)
	for _, c := range u.Conds {
		probs = append(probs, validCond(c)...)
	}
	return invalid(probs)
}

// ValidateKey checks one key.
func ValidateKey(k Key) error { return invalid(validKey(k)) }

// ValidateKeys checks the keys of a BatchGet.
func ValidateKeys(keys []Key) error {
	var probs []string
	if len(keys) > MaxBatchGet {
		probs = append(probs, fmt.Sprintf("batch get: %d keys, limit %d", len(keys), MaxBatchGet))
	}
	seen := make(map[Key]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			probs = append(probs, fmt.Sprintf("batch get: key %s twice", k))
		}
		seen[k] = true
		probs = append(probs, validKey(k)...)
	}
	return invalid(probs)
}

func validPK(pk string) string {
	switch {
	case pk == "":
		return "empty partition key"
	case len(pk) > MaxPKBytes:
		return "partition key too long"
	case !utf8.ValidString(pk):
		return "partition key is not UTF-8"
	}
	return ""
}

func validKey(k Key) []string {
	var probs []string
	if p := validPK(k.PK); p != "" {
		probs = append(probs, p)
	}
	switch {
	case k.SK == "":
		probs = append(probs, "empty sort key")
	case len(k.SK) > MaxSKBytes:
		probs = append(probs, "sort key too long")
	case !utf8.ValidString(k.SK):
		probs = append(probs, "sort key is not UTF-8")
	}
	return probs
}

func validAttr(name string) []string {
	if !attrName.MatchString(name) || ReservedAttrs[name] {
		return []string{fmt.Sprintf("bad numeric attribute name %q", name)}
	}
	return nil
}

func validCond(c Cond) []string {
	switch c.Kind {
	case CondExists, CondNotExists, CondVersion:
		return nil
	case CondNum:
		probs := validAttr(c.Attr)
		switch c.Op {
		case EQ, NE, LT, LE, GT, GE:
		default:
			probs = append(probs, fmt.Sprintf("bad comparison %q", c.Op))
		}
		return probs
	}
	return []string{fmt.Sprintf("unknown condition kind %d", c.Kind)}
}

func validItem(it Item) []string {
	var probs []string
	for name := range it.Nums {
		probs = append(probs, validAttr(name)...)
	}
	if it.ExpiresAt < 0 {
		probs = append(probs, "negative expiry")
	}
	if it.Size() > MaxItemBytes {
		probs = append(probs, fmt.Sprintf("item of %d bytes exceeds %d", it.Size(), MaxItemBytes))
	}
	return probs
}

func validUpdate(u Update) []string {
	var probs []string
	seen := map[string]bool{}
	for _, a := range u.Adds {
		probs = append(probs, validAttr(a.Attr)...)
		if seen[a.Attr] {
			probs = append(probs, fmt.Sprintf("attribute %q updated twice", a.Attr))
		}
		seen[a.Attr] = true
	}
	for name := range u.SetNums {
		probs = append(probs, validAttr(name)...)
		if seen[name] {
			probs = append(probs, fmt.Sprintf("attribute %q updated twice", name))
		}
		seen[name] = true
	}
	if u.ExpiresAt != nil && *u.ExpiresAt < 0 {
		probs = append(probs, "negative expiry")
	}
	if s := (Item{Key: u.Key, Data: u.Data, Nums: u.SetNums}).Size(); s > MaxItemBytes {
		probs = append(probs, fmt.Sprintf("update of %d bytes exceeds %d", s, MaxItemBytes))
	}
	return probs
}

func prefixed(i int, probs []string) []string {
	for j := range probs {
		probs[j] = fmt.Sprintf("op %d: %s", i, probs[j])
	}
	return probs
}

func invalid(probs []string) error {
	if len(probs) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: strings.Join(probs, "; ")}
}

// Expired reports whether an item with this expiry is invisible at now.
func Expired(expiresAt int64, now time.Time) bool {
	return expiresAt != 0 && expiresAt <= now.Unix()
}
