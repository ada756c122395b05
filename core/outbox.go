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
// (customer.redemption.succeeded, voucher.created, …).
type Event struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"` // "event"
	Type       string          `json:"type"`
	Project    string          `json:"project_id"`
	CreatedAt  time.Time       `json:"created_at"`
	CustomerID string          `json:"customer_id,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// OutboxPartition is the partition of the outbox shard for an ordering key.
func OutboxPartition(project, ordering string) string {
	h := fnv.New32a()
	h.Write([]byte(ordering))
	return fmt.Sprintf("%s#outbox#%02d", project, h.Sum32()%OutboxShards)
}

// NewEvent builds an event with data marshalled to JSON.
func NewEvent(ids *IDs, now time.Time, project, typ, customerID string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", typ, err)
	}
	return Event{ID: ids.New("evt"), Object: "event", Type: typ, Project: project, CreatedAt: now.UTC(), CustomerID: customerID, Data: raw}, nil
}

// OutboxOp is the write that puts ev into the outbox. ordering names what must
// stay in order (usually the customer id; the code when there is none).
func OutboxOp(ev Event, ordering string) (Op, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return Op{}, err
	}
	if ordering == "" {
		ordering = ev.ID
	}
	return Put(Item{Key: Key{PK: OutboxPartition(ev.Project, ordering), SK: ev.ID}, Version: 1, Data: raw}, IfNotExists()), nil
}
