package core

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"
)

// OutboxShards spreads a project's outbox over this many partitions, so that
// no single partition takes every write, while one customer's messages (one
// ordering key) always share a partition and so keep their order (DynamoDB
// Streams orders records per partition key only).
const OutboxShards = 16

// Event is a domain event, written to the outbox in the same transaction as
// the state change that caused it. Type uses Voucherify's webhook names
// (customer.redemption.succeeded, voucher.created, …). One state change is
// one outbox item: Also lists further event types with the same data (e.g.
// redemption.succeeded also as customer.redemption.succeeded), which the
// relay delivers as separate events; writing the data once halves the cost.
type Event struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"` // "event"
	Type       string          `json:"type"`
	Also       []string        `json:"also,omitempty"`
	Project    string          `json:"project_id"`
	CreatedAt  time.Time       `json:"created_at"`
	CustomerID string          `json:"customer_id,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// Types returns every event type the item stands for.
func (e Event) Types() []string { return append([]string{e.Type}, e.Also...) }

// OutboxPartition is the partition of the outbox shard for an ordering key.
func OutboxPartition(project, ordering string) string {
	h := fnv.New32a()
	h.Write([]byte(ordering))
	return fmt.Sprintf("%s#outbox#%02d", project, h.Sum32()%OutboxShards)
}

// outboxItem is Event as written: data is encoded once, in the same pass
// as the envelope (a pre-encoded json.RawMessage would be re-validated).
type outboxItem struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	Type       string    `json:"type"`
	Also       []string  `json:"also,omitempty"`
	Project    string    `json:"project_id"`
	CreatedAt  time.Time `json:"created_at"`
	CustomerID string    `json:"customer_id,omitempty"`
	Data       any       `json:"data"`
}

// EventOp is the write that puts one event into the outbox: types[0] is
// its type, the rest its Also. ordering names what must stay in order
// (usually the customer id; the code when there is none).
func EventOp(ids *IDs, now time.Time, project, customerID, ordering string, data any, types ...string) (Op, error) {
	if len(types) == 0 {
		return Op{}, fmt.Errorf("event without a type")
	}
	ev := outboxItem{ID: ids.New("evt"), Object: "event", Type: types[0], Also: types[1:], Project: project,
		CreatedAt: now.UTC(), CustomerID: customerID, Data: data}
	raw, err := json.Marshal(ev)
	if err != nil {
		return Op{}, fmt.Errorf("event %s: %w", types[0], err)
	}
	if ordering == "" {
		ordering = ev.ID
	}
	return Put(Item{Key: Key{PK: OutboxPartition(project, ordering), SK: ev.ID}, Version: 1, Data: raw}, IfNotExists()), nil
}
