package audience

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// EventSchema is what promorelay has seen of one event name: its
// properties with the JSON types observed, when it was first and last seen
// and how often (the "event schema" view).
type EventSchema struct {
	Name       string              `json:"name"`
	Properties map[string][]string `json:"properties"` // name → sorted JSON types
	FirstSeen  time.Time           `json:"first_seen"`
	LastSeen   time.Time           `json:"last_seen"`
	Count      int64               `json:"count"`
	Object     string              `json:"object"` // "event_schema"
}

// SchemaFlushEvery is how often observed schemas are written: one write
// per event name per interval, never one per event (an event name is a hot
// item on DynamoDB, and every write is paid for: at 100 events a second one
// write per name every 10 s adds 0.001 write units per event). Apply
// flushes when the interval has passed, and a process runs
// RunSchemaFlusher so that a quiet spell after the last event does not
// leave observations in memory; reading the schema flushes first. A crash
// loses at most the last interval's counts (the schema is a catalogue of
// what was seen, not a ledger).
const SchemaFlushEvery = 10 * time.Second

// maxSchemaProps bounds the properties recorded per event name.
const maxSchemaProps = 200

type schemaRegistry struct {
	mu      sync.Mutex
	pending map[[2]string]*EventSchema // (project, name) → delta
	flushed time.Time
	flushMu sync.Mutex
}

func schemaKey(p, name string) core.Key { return core.Key{PK: p + "#schema", SK: "e#" + name} }

// observe adds one message to the pending schema deltas.
func (r *schemaRegistry) observe(p string, m customer.Message) {
	name := eventName(m)
	props := m.Properties
	if name == "" {
		name, props = "$"+m.Type, m.Traits
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[[2]string]*EventSchema{}
	}
	k := [2]string{p, name}
	d := r.pending[k]
	if d == nil {
		d = &EventSchema{Name: name, Properties: map[string][]string{}, FirstSeen: m.Timestamp, LastSeen: m.Timestamp}
		r.pending[k] = d
	}
	d.Count++
	if m.Timestamp.Before(d.FirstSeen) {
		d.FirstSeen = m.Timestamp
	}
	if m.Timestamp.After(d.LastSeen) {
		d.LastSeen = m.Timestamp
	}
	for k, v := range props {
		if len(d.Properties) >= maxSchemaProps {
			break
		}
		d.Properties[k] = addType(d.Properties[k], jsonType(v))
	}
}

func addType(ts []string, t string) []string {
	for _, x := range ts {
		if x == t {
			return ts
		}
	}
	ts = append(ts, t)
	sort.Strings(ts)
	return ts
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "number"
}

func (s *Service) maybeFlushSchema(ctx context.Context) {
	s.schema.mu.Lock()
	due := s.now().Sub(s.schema.flushed) >= SchemaFlushEvery
	s.schema.mu.Unlock()
	if due {
		s.flushSchemaLogged(ctx)
	}
}

// RunSchemaFlusher flushes pending schema observations every time tick
// fires, until ctx ends; then it flushes once more and returns that flush's
// error. Failures before are logged and retried at the next tick: their
// observations are kept.
func (s *Service) RunSchemaFlusher(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return s.FlushSchema(context.WithoutCancel(ctx))
		case <-tick:
			s.flushSchemaLogged(ctx)
		}
	}
}

func (s *Service) flushSchemaLogged(ctx context.Context) {
	if err := s.FlushSchema(ctx); err != nil && s.Logger != nil {
		s.Logger.Error("flush event schema", "err", err)
	}
}

// FlushSchema writes the pending schema observations. Call it on shutdown;
// Apply calls it at most every SchemaFlushEvery. Observations whose write
// failed stay pending for the next flush.
func (s *Service) FlushSchema(ctx context.Context) error {
	s.schema.flushMu.Lock()
	defer s.schema.flushMu.Unlock()
	s.schema.mu.Lock()
	pending := s.schema.pending
	s.schema.pending = nil
	s.schema.flushed = s.now()
	s.schema.mu.Unlock()
	var errs []error
	for k, d := range pending {
		if err := s.mergeSchema(ctx, k[0], d); err != nil {
			errs = append(errs, err)
			s.schema.keep(k, d)
		}
	}
	return errors.Join(errs...)
}

// keep puts back a delta whose write failed, adding it to what was
// observed since.
func (r *schemaRegistry) keep(k [2]string, d *EventSchema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[[2]string]*EventSchema{}
	}
	if cur := r.pending[k]; cur != nil {
		cur.add(d)
		return
	}
	r.pending[k] = d
}

// add adds delta d to e: counts summed, the seen range widened, property
// types joined (at most maxSchemaProps properties).
func (e *EventSchema) add(d *EventSchema) {
	e.Count += d.Count
	if d.FirstSeen.Before(e.FirstSeen) {
		e.FirstSeen = d.FirstSeen
	}
	if d.LastSeen.After(e.LastSeen) {
		e.LastSeen = d.LastSeen
	}
	for k, ts := range d.Properties {
		if _, ok := e.Properties[k]; !ok && len(e.Properties) >= maxSchemaProps {
			continue
		}
		for _, t := range ts {
			e.Properties[k] = addType(e.Properties[k], t)
		}
	}
}

func (s *Service) mergeSchema(ctx context.Context, p string, d *EventSchema) error {
	for attempt := 0; ; attempt++ {
		cur := EventSchema{Name: d.Name, Properties: map[string][]string{}, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Object: "event_schema"}
		it, err := s.Store.Get(ctx, schemaKey(p, d.Name))
		cond := core.IfNotExists()
		switch {
		case err == nil:
			if err := json.Unmarshal(it.Data, &cur); err != nil {
				return err
			}
			cond = core.IfVersion(it.Version)
		case !errors.Is(err, core.ErrNotFound):
			return err
		}
		if cur.Properties == nil {
			cur.Properties = map[string][]string{}
		}
		cur.add(d)
		data, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		err = s.Store.Write(ctx, core.Put(core.Item{Key: schemaKey(p, d.Name), Version: it.Version + 1, Data: data}, cond))
		if err == nil || !retryable(err) || attempt > 20 {
			return err
		}
	}
}

// Schema lists the event schemas of a project, by name. It flushes this
// process's pending observations first, so what was just ingested here is
// listed.
func (s *Service) Schema(ctx context.Context, p string, limit int, cursor string) ([]EventSchema, string, error) {
	if err := s.FlushSchema(ctx); err != nil {
		return nil, "", err
	}
	pg, err := s.Store.Query(ctx, core.Query{PK: p + "#schema", Prefix: "e#", Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]EventSchema, 0, len(pg.Items))
	for _, it := range pg.Items {
		var e EventSchema
		if err := json.Unmarshal(it.Data, &e); err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	return out, pg.Next, nil
}
