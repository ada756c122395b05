// Package export makes Voucherify's exports: CSV files of a project's
// objects (orders today), chosen by fields, filters and order, generated in
// the background and downloaded through a link that carries its own token.
//
// Storage. An export is the partition <project>#export#<id>: its record
// (sort key "x") and the CSV in chunks of at most ChunkBytes ("c#000001",
// …). Three index items are written with the record in one transaction:
// <project>#exports / <id> lists a project's exports (ids are ULIDs: a
// reverse query is newest first), exportdl#<id> / "d" names the project of
// a download link (which carries no API key), and exports#active /
// <project>#<id> lists unfinished exports for Resume; the final status write
// deletes the last one in the same transaction. Everything expires TTL
// after creation: an export holds customer data, so its file does not
// outlive its use.
//
// Runs. The process that creates an export runs it on its Workers; it
// claims the record (owner and heartbeat, version-checked) and rewrites it
// after every chunk, so a process that lost the record to another stops at
// its next chunk. A process that stops mid-export leaves it IN_PROGRESS;
// Resume (at start-up) generates it again from the start, overwriting the
// chunks it had written.
package export

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/segment"
)

// Export statuses.
const (
	StatusScheduled  = "SCHEDULED"
	StatusInProgress = "IN_PROGRESS"
	StatusDone       = "DONE"
	StatusError      = "ERROR"
)

// Limits and timings.
const (
	// TTL is how long an export and its file are kept.
	TTL = 7 * 24 * time.Hour
	// ChunkBytes bounds one stored piece of a file (DynamoDB items hold
	// at most 400 KB).
	ChunkBytes = 256 << 10
	// Heartbeat is how often a running export's record is rewritten at
	// least; StaleAfter is the age after which Resume may take an
	// unfinished export over from another process.
	Heartbeat  = 10 * time.Second
	StaleAfter = 6 * Heartbeat

	activePartition = "exports#active"
)

// KeyInvalidFilter is the error key of an export filter that does not
// compile.
const KeyInvalidFilter = "invalid_export_filter"

// Export is an export as Voucherify shows it, with promorelay's row count.
type Export struct {
	ID             string     `json:"id"`
	Object         string     `json:"object"` // "export"
	CreatedAt      time.Time  `json:"created_at"`
	Status         string     `json:"status"`
	Channel        string     `json:"channel"` // "API"
	ExportedObject string     `json:"exported_object"`
	Parameters     Parameters `json:"parameters"`
	Result         *Result    `json:"result"`
	UserID         *string    `json:"user_id"`
	// Rows is how many rows the file holds so far (promorelay's).
	Rows int64 `json:"rows"`
}

// Parameters choose what an export holds: its columns (fields), which
// objects (filters, in the segment filter shape over the object's fields)
// and in which order.
type Parameters struct {
	Order   string          `json:"order,omitempty"`
	Fields  []string        `json:"fields"`
	Filters json.RawMessage `json:"filters,omitempty"`
}

// Result is where a finished export's file is, or (promorelay's) why it
// failed.
type Result struct {
	URL     string `json:"url,omitempty"`
	Message string `json:"message,omitempty"`
}

// Source is one kind of exported object.
type Source struct {
	// Fields are the columns clients may ask for; metadata.<key> columns
	// too when Schema.Metadata is set. DefaultFields are used when a
	// request names none.
	Fields, DefaultFields []string
	// Orders are the orders served; the first is the default.
	Orders []string
	// Schema names what filters may read.
	Schema segment.RecordSchema
	// Each calls fn with the project's objects in order, until fn fails or
	// ctx ends. A record's Values hold every field of Fields.
	Each func(ctx context.Context, p, order string, fn func(segment.Record) error) error
}

// Service creates, runs, lists, serves and deletes exports.
type Service struct {
	Store core.Store
	Clock core.Clock
	IDs   *core.IDs
	// Sources are the exported objects, by exported_object name.
	Sources map[string]Source
	// Workers runs exports in the background. Without it (a Lambda
	// function, whose goroutines stop with the response) Create runs the
	// export before it answers.
	Workers *core.Workers
	Logger  *slog.Logger
	// Observe, when set, sees the record after every write of a run.
	Observe func(Export)
}

// record is the stored export.
type record struct {
	Export
	Project   string    `json:"project"`
	Token     string    `json:"token"`
	BaseURL   string    `json:"base_url"`
	Chunks    int       `json:"chunks"`
	Owner     string    `json:"owner,omitempty"`
	Heartbeat time.Time `json:"heartbeat"`
}

func partition(p, id string) string   { return p + "#export#" + id }
func recordKey(p, id string) core.Key { return core.Key{PK: partition(p, id), SK: "x"} }
func chunkKey(p, id string, n int) core.Key {
	return core.Key{PK: partition(p, id), SK: fmt.Sprintf("c#%06d", n)}
}
func listKey(p, id string) core.Key   { return core.Key{PK: p + "#exports", SK: id} }
func downloadKey(id string) core.Key  { return core.Key{PK: "exportdl#" + id, SK: "d"} }
func activeKey(p, id string) core.Key { return core.Key{PK: activePartition, SK: p + "#" + id} }

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

// compiled is a checked request: the source and its compiled filter.
type compiled struct {
	src    Source
	filter *segment.Filter
}

// check validates an export request, reporting every problem at once.
func (s *Service) check(object string, params *Parameters) (compiled, error) {
	src, ok := s.Sources[object]
	if !ok {
		names := make([]string, 0, len(s.Sources))
		for n := range s.Sources {
			names = append(names, n)
		}
		return compiled{}, core.KeyedError(core.CodeInvalid, "unsupported_parameter",
			"exported_object %q is not served; promorelay exports %s", object, strings.Join(names, ", "))
	}
	var errs []error
	if len(params.Fields) == 0 {
		params.Fields = append([]string(nil), src.DefaultFields...)
	}
	seen := map[string]bool{}
	for _, f := range params.Fields {
		switch {
		case seen[f]:
			errs = append(errs, core.KeyedError(core.CodeInvalid, "invalid_payload", "parameters.fields names %s twice", f))
		case !src.hasField(f):
			errs = append(errs, core.KeyedError(core.CodeInvalid, "invalid_payload",
				"parameters.fields: %q is not a field of %s; the fields are %s", f, object, strings.Join(src.fieldNames(), ", ")))
		}
		seen[f] = true
	}
	if params.Order == "" {
		params.Order = src.Orders[0]
	} else if !slices.Contains(src.Orders, params.Order) {
		errs = append(errs, core.KeyedError(core.CodeInvalid, "unsupported_parameter",
			"parameters.order %q is not supported; %s exports are ordered by %s", params.Order, object, strings.Join(src.Orders, " or ")))
	}
	c := compiled{src: src}
	if len(params.Filters) > 0 && string(params.Filters) != "null" && string(params.Filters) != "{}" {
		f, err := segment.CompileRecords(params.Filters, src.Schema)
		if err != nil {
			errs = append(errs, err)
		}
		c.filter = f
	} else {
		params.Filters = nil
	}
	if len(errs) > 0 {
		return compiled{}, joinInvalid(errs)
	}
	return c, nil
}

// joinInvalid is one client error for several: the first one's code and
// key, every message.
func joinInvalid(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = core.ErrorMessage(e)
	}
	var first *core.Error
	errors.As(errs[0], &first)
	return core.KeyedError(first.Code, first.Key, "%s", strings.Join(msgs, "; "))
}

func (src Source) hasField(f string) bool {
	if key, ok := strings.CutPrefix(f, "metadata."); ok {
		return src.Schema.Metadata && key != ""
	}
	return slices.Contains(src.Fields, f)
}

func (src Source) fieldNames() []string {
	names := append([]string(nil), src.Fields...)
	if src.Schema.Metadata {
		names = append(names, "metadata.<key>")
	}
	return names
}

// Create checks an export request and schedules the export; baseURL is
// where clients reach this API (the download link is made from it). It
// fails with core.CodeInvalid for an unknown object, field or order or a
// filter that does not compile, and writes nothing then.
func (s *Service) Create(ctx context.Context, p, object string, params Parameters, baseURL string) (Export, error) {
	c, err := s.check(object, &params)
	if err != nil {
		return Export{}, err
	}
	var tok [24]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return Export{}, err
	}
	now := s.now()
	rec := record{
		Export: Export{ID: s.IDs.New("exp"), Object: "export", CreatedAt: now, Status: StatusScheduled, Channel: "API",
			ExportedObject: object, Parameters: params},
		Project: p, Token: hex.EncodeToString(tok[:]), BaseURL: strings.TrimSuffix(baseURL, "/"), Heartbeat: now,
	}
	exp := now.Add(TTL).Unix()
	data, err := json.Marshal(rec)
	if err != nil {
		return Export{}, err
	}
	pointer, err := json.Marshal(p)
	if err != nil {
		return Export{}, err
	}
	err = core.WriteRecorded(ctx, s.Store, now, rec.Export,
		core.Put(core.Item{Key: recordKey(p, rec.ID), Version: 1, Data: data, ExpiresAt: exp}, core.IfNotExists()),
		core.Put(core.Item{Key: listKey(p, rec.ID), Version: 1, ExpiresAt: exp}),
		core.Put(core.Item{Key: downloadKey(rec.ID), Version: 1, Data: pointer, ExpiresAt: exp}),
		core.Put(core.Item{Key: activeKey(p, rec.ID), Version: 1, ExpiresAt: exp}))
	if err != nil {
		return Export{}, err
	}
	if s.Workers == nil {
		s.run(ctx, p, rec.ID, c)
		return s.Get(ctx, p, rec.ID)
	}
	s.launch(p, rec.ID, c)
	return rec.Export, nil
}

func (s *Service) launch(p, id string, c compiled) bool {
	return s.Workers.Go(func(ctx context.Context) { s.run(ctx, p, id, c) })
}

// Get returns an export; core.ErrNotFound when the project has none of
// that id (or it expired).
func (s *Service) Get(ctx context.Context, p, id string) (Export, error) {
	rec, _, err := s.load(ctx, p, id)
	return rec.view(), err
}

func (s *Service) load(ctx context.Context, p, id string) (record, core.Item, error) {
	it, err := s.Store.Get(ctx, recordKey(p, id))
	if errors.Is(err, core.ErrNotFound) {
		return record{}, it, core.Errorf(core.CodeNotFound, "export %s not found", id)
	}
	if err != nil {
		return record{}, it, err
	}
	var rec record
	return rec, it, json.Unmarshal(it.Data, &rec)
}

// view is the export as clients see it: the link once the file is done.
func (r record) view() Export {
	e := r.Export
	if e.Status == StatusDone {
		e.Result = &Result{URL: r.BaseURL + "/v1/exports/" + r.ID + "/download?token=" + r.Token}
	}
	return e
}

// List lists a project's exports, newest first.
func (s *Service) List(ctx context.Context, p string, limit int, cursor string) ([]Export, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: p + "#exports", Reverse: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]Export, 0, len(pg.Items))
	for _, it := range pg.Items {
		e, err := s.Get(ctx, p, it.SK)
		if errors.Is(err, core.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	return out, pg.Next, nil
}

// Delete removes an export and its file; a running export stops at its
// next chunk. core.ErrNotFound when there is none.
func (s *Service) Delete(ctx context.Context, p, id string) error {
	if _, _, err := s.load(ctx, p, id); err != nil {
		return err
	}
	// The record first: from then on the export is gone for every reader.
	for _, k := range []core.Key{recordKey(p, id), downloadKey(id), listKey(p, id), activeKey(p, id)} {
		if err := s.Store.Write(ctx, core.Delete(k)); err != nil {
			return err
		}
	}
	return s.deleteChunks(ctx, p, id, 0)
}

// deleteChunks deletes the chunks of an export after chunk n.
func (s *Service) deleteChunks(ctx context.Context, p, id string, after int) error {
	q := core.Query{PK: partition(p, id), From: chunkKey(p, id, after+1).SK, To: "c#~", Limit: core.MaxPageLimit}
	return core.Each(ctx, s.Store, q, func(it core.Item) error { return s.Store.Write(ctx, core.Delete(it.Key)) })
}

// Download writes the file of the export id to w when token is its
// download token. It fails with core.ErrNotFound when there is no such
// export or the token is wrong (so a link cannot be guessed from another),
// and with core.CodeConflict while the file is not done.
func (s *Service) Download(ctx context.Context, id, token string, begin func(Export), w io.Writer) error {
	notFound := core.Errorf(core.CodeNotFound, "export %s not found", id)
	it, err := s.Store.Get(ctx, downloadKey(id))
	if errors.Is(err, core.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	var p string
	if err := json.Unmarshal(it.Data, &p); err != nil {
		return err
	}
	rec, _, err := s.load(ctx, p, id)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(rec.Token)) != 1 {
		return notFound
	}
	if rec.Status != StatusDone {
		return core.KeyedError(core.CodeConflict, "export_not_ready", "export %s is %s; download it once it is DONE", id, rec.Status)
	}
	begin(rec.view())
	for n := 1; n <= rec.Chunks; n++ {
		c, err := s.Store.Get(ctx, chunkKey(p, id, n))
		if err != nil {
			return fmt.Errorf("export %s chunk %d: %w", id, n, err)
		}
		if _, err := w.Write(c.Data); err != nil {
			return err
		}
	}
	return nil
}
