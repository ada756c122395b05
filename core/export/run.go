package export

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/segment"
)

// errLost stops a run whose record another process took over or a client
// deleted.
var errLost = errors.New("export taken over or deleted")

// runState is one process's run of one export.
type runState struct {
	s       *Service
	p, id   string
	rec     record
	version int64
	buf     bytes.Buffer
	w       *csv.Writer
	beat    time.Time
}

// run generates the export's file. It claims the record first; it returns
// without a trace when the record is gone or another run owns it, and leaves
// it unfinished (for Resume) when ctx ends.
func (s *Service) run(ctx context.Context, p, id string, c compiled) {
	st := &runState{s: s, p: p, id: id}
	if err := st.claim(ctx); err != nil {
		if !errors.Is(err, errLost) && ctx.Err() == nil {
			s.logError("export: claim", "project", p, "export", id, "err", err)
		}
		return
	}
	err := st.generate(ctx, c)
	switch {
	case errors.Is(err, errLost):
		return
	case ctx.Err() != nil:
		return // stopped: Resume takes it over
	}
	if err != nil {
		s.logError("export failed", "project", p, "export", id, "err", err)
	}
	if ferr := st.finish(context.WithoutCancel(ctx), err); ferr != nil && !errors.Is(ferr, errLost) {
		s.logError("export: final status", "project", p, "export", id, "err", ferr)
	}
}

func (s *Service) logError(msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Error(msg, args...)
	}
}

// claim makes this run the record's owner and starts the file afresh.
func (st *runState) claim(ctx context.Context) error {
	rec, it, err := st.s.load(ctx, st.p, st.id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return errLost
	}
	if err != nil {
		return err
	}
	if rec.Status == StatusDone || rec.Status == StatusError {
		return errLost
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	rec.Owner = "run_" + hex.EncodeToString(b[:])
	rec.Status, rec.Rows, rec.Chunks = StatusInProgress, 0, 0
	st.rec, st.version = rec, it.Version
	st.w = csv.NewWriter(&st.buf)
	return st.save(ctx)
}

// save rewrites the record if this run still owns it.
func (st *runState) save(ctx context.Context, extra ...core.Op) error {
	st.rec.Heartbeat = st.s.now()
	data, err := json.Marshal(st.rec)
	if err != nil {
		return err
	}
	ops := append([]core.Op{core.Put(core.Item{Key: recordKey(st.p, st.id), Version: st.version + 1, Data: data,
		ExpiresAt: st.rec.CreatedAt.Add(TTL).Unix()}, core.IfVersion(st.version))}, extra...)
	err = st.s.Store.Write(ctx, ops...)
	if core.FailedIndex(err) == 0 {
		return errLost
	}
	if err != nil {
		return err
	}
	st.version++
	st.beat = st.rec.Heartbeat
	if st.s.Observe != nil {
		st.s.Observe(st.rec.view())
	}
	return nil
}

// generate writes the header and every matching object's row.
func (st *runState) generate(ctx context.Context, c compiled) error {
	params := st.rec.Parameters
	if err := st.w.Write(params.Fields); err != nil {
		return err
	}
	now := st.s.now()
	row := make([]string, len(params.Fields))
	err := c.src.Each(ctx, st.p, params.Order, func(r segment.Record) error {
		if c.filter != nil && !c.filter.MatchRecord(r, now) {
			return st.heartbeat(ctx)
		}
		for i, f := range params.Fields {
			row[i] = cell(r, f)
		}
		if err := st.w.Write(row); err != nil {
			return err
		}
		st.rec.Rows++
		st.w.Flush()
		if st.buf.Len() >= ChunkBytes {
			return st.flushChunk(ctx, false)
		}
		return st.heartbeat(ctx)
	})
	if err != nil {
		return err
	}
	st.w.Flush()
	return st.w.Error()
}

// heartbeat rewrites the record when Heartbeat has passed since the last
// write, so a long filtered scan is not taken for a dead one.
func (st *runState) heartbeat(ctx context.Context) error {
	if st.s.now().Sub(st.beat) < Heartbeat {
		return nil
	}
	return st.save(ctx)
}

// flushChunk stores the buffered file bytes as chunks of ChunkBytes (and,
// when all is set, what is left after them), then the record that counts
// them.
func (st *runState) flushChunk(ctx context.Context, all bool) error {
	for st.buf.Len() >= ChunkBytes || all && st.buf.Len() > 0 {
		piece := st.buf.Next(ChunkBytes)
		n := st.rec.Chunks + 1
		err := st.s.Store.Write(ctx, core.Put(core.Item{Key: chunkKey(st.p, st.id, n), Version: 1,
			Data: bytes.Clone(piece), ExpiresAt: st.rec.CreatedAt.Add(TTL).Unix()}))
		if err != nil {
			return err
		}
		st.rec.Chunks = n
	}
	return st.save(ctx)
}

// finish stores what is left of the file and the final status; a failed
// run (err) keeps no file.
func (st *runState) finish(ctx context.Context, err error) error {
	if err == nil {
		if err = st.flushChunk(ctx, true); errors.Is(err, errLost) {
			return err
		}
	}
	if err != nil {
		st.rec.Status, st.rec.Result = StatusError, &Result{Message: "the export failed: " + core.ErrorMessage(err)}
	} else {
		st.rec.Status = StatusDone
	}
	if err := st.save(ctx, core.Delete(activeKey(st.p, st.id))); err != nil {
		return err
	}
	// Chunks beyond the file's end were left by an earlier, interrupted
	// run of this export.
	return st.s.deleteChunks(ctx, st.p, st.id, st.rec.Chunks)
}

// cell is field f of record r as a CSV cell: strings as they are, numbers
// in decimal, times in RFC 3339 (UTC, milliseconds), metadata as JSON and
// absent values empty.
func cell(r segment.Record, f string) string {
	var v any
	switch {
	case f == "metadata":
		if len(r.Metadata) == 0 {
			return ""
		}
		v = r.Metadata
	case strings.HasPrefix(f, "metadata."):
		v = segment.Lookup(r.Metadata, strings.TrimPrefix(f, "metadata."))
	default:
		v = r.Values[f]
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Resume takes over the project exports left unfinished by a process that
// stopped: those whose record was not written for staleAfter (0: all, for a
// single process starting up). It returns how many it started.
func (s *Service) Resume(ctx context.Context, staleAfter time.Duration) (int, error) {
	started := 0
	err := core.Each(ctx, s.Store, core.Query{PK: activePartition, Limit: core.MaxPageLimit}, func(it core.Item) error {
		ok, err := s.resume(ctx, it.SK, staleAfter)
		if ok {
			started++
		}
		return err
	})
	return started, err
}

func (s *Service) resume(ctx context.Context, active string, staleAfter time.Duration) (bool, error) {
	i := strings.LastIndexByte(active, '#')
	if i < 0 {
		return false, nil
	}
	p, id := active[:i], active[i+1:]
	rec, _, err := s.load(ctx, p, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return false, s.Store.Write(ctx, core.Delete(activeKey(p, id))) // deleted or expired
	}
	if err != nil {
		return false, err
	}
	if staleAfter > 0 && s.now().Sub(rec.Heartbeat) < staleAfter {
		return false, nil
	}
	c, err := s.check(rec.ExportedObject, &rec.Parameters)
	if err != nil {
		// What was valid when it was created no longer is (a source this
		// build does not serve): it fails for good.
		st := &runState{s: s, p: p, id: id}
		if cerr := st.claim(ctx); cerr != nil {
			return false, cerr
		}
		return false, st.finish(ctx, err)
	}
	if s.Workers == nil {
		s.run(ctx, p, id, c)
		return true, nil
	}
	return s.launch(p, id, c), nil
}
