package promo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Jobs are Voucherify's async actions: work too large for one request
// (generating or importing thousands of codes) that runs in the background
// while clients poll GET /v1/async-actions/{id}.
//
// Storage. A job is one item, <project>#job#<id> / "j", holding the public
// Job and what a restart needs (owner, heartbeat, generation target). Two
// index items are written with it in one transaction: <project>#jobs / <id>
// lists a project's jobs (ids are ULIDs, so a reverse query is newest first)
// and jobs#active / <project>#<id> lists unfinished jobs across projects for
// ResumeJobs; the final status write deletes the latter in the same
// transaction. Imports also keep job-scoped marker items in the job's
// partition (see imports.go). Job items and list entries expire after
// jobTTL.
//
// Cost. Progress is written by one flusher per job, at most every
// jobProgressEvery and only when the percentage moved by a whole point (plus
// a heartbeat every JobHeartbeat), so a job of a million codes costs about a
// hundred small puts of its record, never one per code.
//
// Restarts. A process that stops (crash, deploy, JobRunner.Close) leaves its
// jobs ENQUEUED or IN_PROGRESS. ResumeJobs, called at start-up, takes them
// over: a generation job is resumed (it only adds what is still missing, see
// genParams); an import job cannot be resumed, because its rows lived in the
// request, so the codes it had written are deleted and it is marked FAILED
// with a message saying so; any other job is marked FAILED.

// Job statuses (Voucherify's).
const (
	JobEnqueued   = "ENQUEUED"
	JobInProgress = "IN_PROGRESS"
	JobDone       = "DONE"
	JobFailed     = "FAILED"
)

// Job types (Voucherify's async action types).
const (
	JobGenerate          = "CAMPAIGN.VOUCHERS_GENERATE"
	JobImport            = "VOUCHERS.IMPORT"
	JobImportCSV         = "VOUCHERS.IMPORT_CSV"
	JobCampaignImport    = "CAMPAIGN.VOUCHERS_IMPORT"
	JobCampaignImportCSV = "CAMPAIGN.VOUCHERS_IMPORT_CSV"
)

// MaxGeneratedCodes bounds one generation job (and a campaign's
// vouchers_count).
const MaxGeneratedCodes = 1_000_000

// JobHeartbeat is how often a running job's record is rewritten even when
// its progress did not move; a job whose record is older than a few
// heartbeats has lost its process. JobStaleAfter is the age ResumeJobs should
// wait for when other processes may be running jobs on the same store.
const (
	JobHeartbeat  = 10 * time.Second
	JobStaleAfter = 6 * JobHeartbeat
)

const (
	jobProgressEvery    = 250 * time.Millisecond
	jobTTL              = 90 * 24 * time.Hour
	activeJobsPartition = "jobs#active"
)

// Job is an async action as Voucherify shows it. DoneCount and TotalCount
// are promorelay's: the items behind Progress (a whole percentage, 100 only
// when DONE).
type Job struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Status     string     `json:"status"`
	Result     *JobResult `json:"result"`
	Progress   int        `json:"progress"`
	DoneCount  int64      `json:"done_count"`
	TotalCount int64      `json:"total_count"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
	RequestID  string     `json:"request_id,omitempty"`
	// ProcessingTime is how long the job has run, in milliseconds.
	ProcessingTime int64  `json:"processing_time"`
	Object         string `json:"object"` // "async_action"
}

// JobResult is what a finished job reports: a message, how many items it
// did, and for imports the rows that stopped it (at most
// MaxImportProblems; FailedCount counts them all).
type JobResult struct {
	Message     string          `json:"message"`
	DoneCount   int64           `json:"done_count"`
	FailedCount int             `json:"failed_count,omitempty"`
	Failed      []ImportProblem `json:"failed,omitempty"`
}

// JobStarted is the answer to a request that started a job.
type JobStarted struct {
	AsyncActionID string `json:"async_action_id"`
}

// CampaignCreated is a new campaign and, when its codes are generated in the
// background, the async action generating them.
type CampaignCreated struct {
	Campaign
	AsyncActionID string `json:"async_action_id,omitempty"`
}

// JobFunc is the work of a job. It reports progress through p and returns
// the result; an error marks the job FAILED with the result's message (or
// the error's client-safe message). It must return promptly when ctx ends:
// the runner is stopping, and the job stays unfinished for ResumeJobs.
type JobFunc func(ctx context.Context, p *JobProgress) (JobResult, error)

// jobRecord is the stored job.
type jobRecord struct {
	Job
	Project   string     `json:"project"`
	Owner     string     `json:"owner,omitempty"` // runner holding the job
	Heartbeat time.Time  `json:"heartbeat"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Gen       *genParams `json:"gen,omitempty"`
}

// genParams make generation resumable: the job's goal is a campaign
// counter ("vouchers") of Target, so after a restart it generates Target
// minus the current counter. Codes added to or deleted from the campaign by
// others while the job was interrupted shift that count: the resumed job
// aims at the target count, not at exactly Count new codes.
type genParams struct {
	CampaignID string `json:"campaign_id"`
	Count      int64  `json:"count"`
	Base       int64  `json:"base"` // the counter when the job was started
	Target     int64  `json:"target"`
}

func jobKey(p, id string) core.Key     { return core.Key{PK: p + "#job#" + id, SK: "j"} }
func jobListKey(p, id string) core.Key { return core.Key{PK: p + "#jobs", SK: id} }
func activeJobKey(p, id string) core.Key {
	return core.Key{PK: activeJobsPartition, SK: p + "#" + id}
}

// campaignJobID is the id of the job that generates a new campaign's codes:
// derived from the campaign's id (one such job per campaign), so
// CreateCampaignAsync knows it without another read.
func campaignJobID(campaignID string) string {
	return "aa_" + strings.TrimPrefix(campaignID, "camp_")
}

// JobRunner owns the goroutines of a Service's jobs. Create it with
// NewJobRunner, set it as Service.Jobs, call Service.ResumeJobs once at
// start-up and Close before closing the store.
type JobRunner struct {
	// Logger receives failures clients only see as "internal error".
	// Optional; set it before starting jobs.
	Logger *slog.Logger
	// Observe, when set, is called with the job after every change of it the
	// runner stores (progress and final status), from the job's goroutines.
	// It must return quickly. Tests and metrics use it; set it before
	// starting jobs.
	Observe func(Job)

	id      string
	workers *core.Workers
}

// NewJobRunner returns a runner ready to start jobs.
func NewJobRunner() *JobRunner {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &JobRunner{id: "runner_" + hex.EncodeToString(b[:]), workers: core.NewWorkers()}
}

// goJob runs fn in a goroutine the runner waits for; false when closed.
func (r *JobRunner) goJob(fn func(ctx context.Context)) bool { return r.workers.Go(fn) }

// Wait blocks until every job started so far has finished. It must not race
// with requests starting jobs (tests call it between steps).
func (r *JobRunner) Wait() { r.workers.Wait() }

// Close stops the runner: it refuses new jobs, cancels the running ones and
// waits for their goroutines. Interrupted jobs stay unfinished in the store,
// exactly as after a crash, for ResumeJobs to take over.
func (r *JobRunner) Close() error {
	r.workers.Close()
	return nil
}

func (r *JobRunner) logError(msg string, args ...any) {
	if r.Logger != nil {
		r.Logger.Error(msg, args...)
	}
}

func (s *Service) runner() (*JobRunner, error) {
	if s.Jobs == nil {
		return nil, core.Errorf(core.CodeUnavailable, "background jobs are not running in this process")
	}
	return s.Jobs, nil
}

// jobStart is a job about to be stored and launched.
type jobStart struct {
	rec jobRecord
	fn  JobFunc
}

func (s *Service) newJob(ctx context.Context, p, id, kind string, total int64) (*jobStart, error) {
	if _, err := s.runner(); err != nil {
		return nil, err
	}
	if id == "" {
		id = s.IDs.New("aa")
	}
	now := s.now()
	return &jobStart{rec: jobRecord{
		Job: Job{ID: id, Type: kind, Status: JobEnqueued, TotalCount: total, CreatedAt: now, UpdatedAt: &now,
			RequestID: requestIDFrom(ctx), Object: "async_action"},
		Project: p, Heartbeat: now,
	}}, nil
}

// ops are the writes that record the job: its item and both index entries.
// A nil jobStart has none.
func (j *jobStart) ops() ([]core.Op, error) {
	if j == nil {
		return nil, nil
	}
	data, err := json.Marshal(j.rec)
	if err != nil {
		return nil, err
	}
	p, id := j.rec.Project, j.rec.ID
	exp := j.rec.CreatedAt.Add(jobTTL).Unix()
	return []core.Op{
		core.Put(core.Item{Key: jobKey(p, id), Version: 1, Data: data, ExpiresAt: exp}, core.IfNotExists()),
		core.Put(core.Item{Key: jobListKey(p, id), Version: 1, ExpiresAt: exp}),
		core.Put(core.Item{Key: activeJobKey(p, id), Version: 1}),
	}, nil
}

func (j *jobStart) id() string {
	if j == nil {
		return ""
	}
	return j.rec.ID
}

// StartJob records a job of kind over total items as ENQUEUED and runs fn in
// the background. It answers as soon as the job is stored; with an
// idempotency key in ctx, a repeated request answers the same job. Such a
// job cannot be resumed: if its process stops, ResumeJobs marks it FAILED.
func (s *Service) StartJob(ctx context.Context, p, kind string, total int64, fn JobFunc) (JobStarted, error) {
	js, err := s.newJob(ctx, p, "", kind, total)
	if err != nil {
		return JobStarted{}, err
	}
	js.fn = fn
	return s.storeAndLaunch(ctx, js)
}

func (s *Service) storeAndLaunch(ctx context.Context, js *jobStart) (JobStarted, error) {
	ops, err := js.ops()
	if err != nil {
		return JobStarted{}, err
	}
	out := JobStarted{AsyncActionID: js.rec.ID}
	if err := s.commit(ctx, out, ops...); err != nil {
		return JobStarted{}, err
	}
	s.launch(js)
	return out, nil
}

// launch runs a stored job. When the runner is closing, the job stays
// ENQUEUED for ResumeJobs.
func (s *Service) launch(js *jobStart) {
	st := &jobState{s: s, rec: js.rec, version: 1}
	s.Jobs.goJob(func(ctx context.Context) { s.runJob(ctx, st, js.fn) })
}

// jobState is a running job: the record as last stored, and its version.
// Only the runner holding the job writes it, each write conditional on the
// version it last wrote, so a runner that lost the job (another process
// resumed it) finds out at its next write and stops.
type jobState struct {
	s       *Service
	mu      sync.Mutex
	rec     jobRecord
	version int64
	lost    bool
	cancel  context.CancelFunc
	lastPct int
	lastAt  time.Time
}

var errJobLost = errors.New("job taken over by another runner")

// errJobUnfinished, returned by a JobFunc, leaves the job unfinished in the
// store (IN_PROGRESS) for ResumeJobs instead of marking it FAILED: for work
// that must still be done, such as removing a failed import's codes while
// the store is unavailable.
var errJobUnfinished = errors.New("job left unfinished for ResumeJobs")

// save stores the record (with extra ops in the same transaction).
func (st *jobState) save(ctx context.Context, extra ...core.Op) error {
	st.mu.Lock()
	job, err := st.saveLocked(ctx, extra...)
	st.mu.Unlock()
	if err == nil && st.s.Jobs.Observe != nil {
		st.s.Jobs.Observe(job)
	}
	return err
}

func (st *jobState) saveLocked(ctx context.Context, extra ...core.Op) (Job, error) {
	if st.lost {
		return Job{}, errJobLost
	}
	now := st.s.now()
	st.rec.UpdatedAt = &now
	st.rec.Heartbeat = now
	if st.rec.StartedAt != nil {
		st.rec.ProcessingTime = now.Sub(*st.rec.StartedAt).Milliseconds()
	}
	data, err := json.Marshal(st.rec)
	if err != nil {
		return Job{}, err
	}
	item := core.Item{Key: jobKey(st.rec.Project, st.rec.ID), Version: st.version + 1, Data: data,
		ExpiresAt: st.rec.CreatedAt.Add(jobTTL).Unix()}
	ops := append([]core.Op{core.Put(item, core.IfVersion(st.version))}, extra...)
	// Never cancelled midway: a cancelled write may still land later and
	// make the runner resuming the job after a stop lose its claim.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err = st.s.write(wctx, ops...)
	if errors.Is(err, core.ErrConditionFailed) && core.FailedIndex(err) == 0 {
		st.lost = true
		if st.cancel != nil {
			st.cancel()
		}
		return Job{}, errJobLost
	}
	if err != nil {
		return Job{}, err
	}
	st.version++
	st.lastAt = now
	st.lastPct = st.rec.Progress
	return st.rec.Job, nil
}

func (st *jobState) isLost() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lost
}

// saveProgress stores done/total when the percentage moved by a point and
// jobProgressEvery has passed, or when a heartbeat is due.
func (st *jobState) saveProgress(ctx context.Context, done, total int64) {
	st.mu.Lock()
	now := st.s.now()
	pct := percent(done, total)
	since := now.Sub(st.lastAt)
	if !(pct > st.lastPct && since >= jobProgressEvery) && since < JobHeartbeat {
		st.mu.Unlock()
		return
	}
	st.rec.Progress, st.rec.DoneCount, st.rec.TotalCount = pct, done, total
	job, err := st.saveLocked(ctx)
	st.mu.Unlock()
	switch {
	case err == nil:
		if st.s.Jobs.Observe != nil {
			st.s.Jobs.Observe(job)
		}
	case !errors.Is(err, errJobLost) && ctx.Err() == nil:
		// The job goes on; the next progress write may succeed.
		st.s.Jobs.logError("job progress not stored", "job", st.rec.ID, "err", err)
	}
}

// percent is done/total as a whole percentage below 100 (100 means DONE).
func percent(done, total int64) int {
	if total <= 0 || done <= 0 {
		return 0
	}
	return int(min(99, done*100/total))
}

// JobProgress is how a job reports how far it got. Its methods are safe for
// concurrent use and never wait for storage: a flusher goroutine stores the
// latest counts (see jobState.saveProgress).
type JobProgress struct {
	done, total atomic.Int64
	kick        chan struct{}
	quit        chan struct{}
	exited      chan struct{}
}

// Set reports done items.
func (p *JobProgress) Set(done int64) {
	p.done.Store(done)
	p.nudge()
}

// Add reports n more done items.
func (p *JobProgress) Add(n int64) {
	p.done.Add(n)
	p.nudge()
}

// SetTotal changes the number of items the job will do.
func (p *JobProgress) SetTotal(total int64) {
	p.total.Store(total)
	p.nudge()
}

// Done returns the items reported done.
func (p *JobProgress) Done() int64 { return p.done.Load() }

func (p *JobProgress) nudge() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (st *jobState) startProgress(ctx context.Context) *JobProgress {
	p := &JobProgress{kick: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{})}
	p.done.Store(st.rec.DoneCount)
	p.total.Store(st.rec.TotalCount)
	go func() {
		defer close(p.exited)
		// The ticker only makes sure a pending update and the heartbeat are
		// written when the job stops reporting for a while.
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-ctx.Done():
				return
			case <-p.kick:
			case <-tick.C:
			}
			st.saveProgress(ctx, p.done.Load(), p.total.Load())
		}
	}()
	return p
}

func (p *JobProgress) stop() {
	close(p.quit)
	<-p.exited
}

// runJob runs one job to its end, or until the runner stops (ctx).
func (s *Service) runJob(rctx context.Context, st *jobState, fn JobFunc) {
	ctx, cancel := context.WithCancel(rctx)
	defer cancel()
	st.cancel = cancel
	now := s.now()
	st.rec.Status = JobInProgress
	st.rec.Owner = s.Jobs.id
	if st.rec.StartedAt == nil {
		st.rec.StartedAt = &now
	}
	if err := st.save(ctx); err != nil {
		if !errors.Is(err, errJobLost) && rctx.Err() == nil {
			s.Jobs.logError("job not started", "job", st.rec.ID, "err", err)
		}
		return // still ENQUEUED (or someone else's): ResumeJobs will see it
	}
	progress := st.startProgress(ctx)
	res, err := fn(ctx, progress)
	progress.stop()
	if st.isLost() || (err != nil && (rctx.Err() != nil || errors.Is(err, errJobUnfinished))) {
		return // interrupted: ResumeJobs takes it over after the restart
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(rctx), time.Minute)
	defer fcancel()
	st.finish(fctx, res, progress, err)
}

// finish stores the final status and drops the job from the active index.
func (st *jobState) finish(ctx context.Context, res JobResult, progress *JobProgress, err error) {
	st.mu.Lock()
	st.rec.DoneCount, st.rec.TotalCount = progress.Done(), progress.total.Load()
	if err == nil {
		st.rec.Status, st.rec.Progress = JobDone, 100
	} else {
		st.rec.Status = JobFailed
		if res.Message == "" {
			res.Message = core.ErrorMessage(err)
		}
		if core.ErrorCode(err) == core.CodeInternal {
			st.s.Jobs.logError("job failed", "job", st.rec.ID, "type", st.rec.Type, "err", err)
		}
	}
	st.rec.Result = &res
	st.rec.Owner = ""
	job, serr := st.saveLocked(ctx, core.Delete(activeJobKey(st.rec.Project, st.rec.ID)))
	st.mu.Unlock()
	if serr != nil {
		if !errors.Is(serr, errJobLost) {
			st.s.Jobs.logError("job result not stored; ResumeJobs will retry the job", "job", st.rec.ID, "err", serr)
		}
		return
	}
	if st.s.Jobs.Observe != nil {
		st.s.Jobs.Observe(job)
	}
}

// GetJob returns one of the project's jobs.
func (s *Service) GetJob(ctx context.Context, p, id string) (Job, error) {
	it, err := s.Store.Get(ctx, jobKey(p, id))
	if errors.Is(err, core.ErrNotFound) {
		return Job{}, &core.Error{Code: core.CodeNotFound, Message: fmt.Sprintf("cannot find async action with id %s", id),
			ResourceID: id, ResourceType: "async_action"}
	}
	if err != nil {
		return Job{}, err
	}
	var rec jobRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return Job{}, fmt.Errorf("decode job %s: %w", id, err)
	}
	return rec.Job, nil
}

// ListJobs lists the project's jobs, newest first, without their results
// (as Voucherify's list does).
func (s *Service) ListJobs(ctx context.Context, p string, limit int, cursor string) ([]Job, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: jobListKey(p, "").PK, Limit: clampLimit(limit), Cursor: cursor, Reverse: true})
	if err != nil {
		return nil, "", err
	}
	keys := make([]core.Key, len(pg.Items))
	for i, it := range pg.Items {
		keys[i] = jobKey(p, it.SK)
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	out := make([]Job, 0, len(keys))
	for _, k := range keys {
		it, ok := items[k]
		if !ok {
			continue // expired between list and read
		}
		var rec jobRecord
		if err := json.Unmarshal(it.Data, &rec); err != nil {
			return nil, "", fmt.Errorf("decode job %s: %w", k.PK, err)
		}
		rec.Result = nil
		out = append(out, rec.Job)
	}
	return out, pg.Next, nil
}

// ResumeJobs takes over the unfinished jobs of stopped runners and returns
// how many it took. Generation jobs resume; import jobs delete what they had
// written and fail (their rows are gone with the request); other jobs fail.
//
// A job whose record was written less than staleAfter ago is left alone:
// its runner may still be alive elsewhere. On the embedded engine one
// process owns the store, so pass 0 at start-up; where several processes
// share a DynamoDB table pass JobStaleAfter (and call it periodically). Two
// processes resuming the same job race on its record's version; one wins.
func (s *Service) ResumeJobs(ctx context.Context, staleAfter time.Duration) (int, error) {
	if _, err := s.runner(); err != nil {
		return 0, err
	}
	taken := 0
	err := core.Each(ctx, s.Store, core.Query{PK: activeJobsPartition, Limit: core.MaxPageLimit}, func(it core.Item) error {
		i := strings.LastIndexByte(it.SK, '#')
		if i < 0 {
			return nil
		}
		ok, err := s.resumeJob(ctx, it.Key, it.SK[:i], it.SK[i+1:], staleAfter)
		if err != nil {
			return fmt.Errorf("resume job %s: %w", it.SK, err)
		}
		if ok {
			taken++
		}
		return nil
	})
	return taken, err
}

func (s *Service) resumeJob(ctx context.Context, index core.Key, p, id string, staleAfter time.Duration) (bool, error) {
	it, err := s.Store.Get(ctx, jobKey(p, id))
	if errors.Is(err, core.ErrNotFound) {
		return false, s.Store.Write(ctx, core.Delete(index))
	}
	if err != nil {
		return false, err
	}
	var rec jobRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return false, fmt.Errorf("decode job: %w", err)
	}
	switch {
	case rec.Status == JobDone || rec.Status == JobFailed:
		// Finished, but the index entry outlived it (it is deleted in the
		// same transaction, so only an older record format gets here).
		return false, s.Store.Write(ctx, core.Delete(index))
	case rec.Owner == s.Jobs.id:
		return false, nil // running here
	case staleAfter > 0 && s.now().Sub(rec.Heartbeat) < staleAfter:
		return false, nil
	}
	js := &jobStart{rec: rec}
	switch {
	case rec.Type == JobGenerate && rec.Gen != nil:
		js.fn = s.generation(p, *rec.Gen)
	case isImport(rec.Type):
		js.fn = s.abandonImport(p, id)
	default:
		js.fn = func(context.Context, *JobProgress) (JobResult, error) {
			return JobResult{Message: "interrupted by a restart before it finished; start it again"},
				core.Errorf(core.CodeUnavailable, "interrupted")
		}
	}
	st := &jobState{s: s, rec: rec, version: it.Version}
	return s.Jobs.goJob(func(ctx context.Context) { s.runJob(ctx, st, js.fn) }), nil
}

// ---- generation

// StartGeneration starts a job adding n (1..MaxGeneratedCodes) generated
// codes to a campaign: Voucherify's POST /v1/campaigns/{id}/vouchers with a
// large vouchers_count. The campaign and its code space are checked before
// anything is stored.
func (s *Service) StartGeneration(ctx context.Context, p, campaign string, n int64) (JobStarted, error) {
	it, c, err := s.resolveCampaign(ctx, p, campaign)
	if err != nil {
		return JobStarted{}, err
	}
	js, err := s.generationJob(ctx, p, "", c, it.Num("vouchers"), n)
	if err != nil {
		return JobStarted{}, err
	}
	return s.storeAndLaunch(ctx, js)
}

// CreateCampaignAsync is CreateCampaign, telling the id of the job that
// generates the codes when there are more than MaxInlineCodes.
func (s *Service) CreateCampaignAsync(ctx context.Context, p string, in CampaignInput) (CampaignCreated, error) {
	c, err := s.CreateCampaign(ctx, p, in)
	out := CampaignCreated{Campaign: c}
	if err == nil && in.VouchersCount > MaxInlineCodes {
		out.AsyncActionID = campaignJobID(c.ID)
	}
	return out, err
}

// campaignCodesJob is the job generating a new campaign's n codes, or nil
// when n ≤ MaxInlineCodes (CreateCampaign generates those itself). Its ops
// go into the campaign's own transaction.
func (s *Service) campaignCodesJob(ctx context.Context, p string, c Campaign, n int64) (*jobStart, error) {
	if n <= MaxInlineCodes {
		return nil, nil
	}
	return s.generationJob(ctx, p, campaignJobID(c.ID), c, 0, n)
}

func (s *Service) generationJob(ctx context.Context, p, id string, c Campaign, base, n int64) (*jobStart, error) {
	if n < 1 || n > MaxGeneratedCodes {
		return nil, core.Errorf(core.CodeInvalid, "vouchers_count must be 1 to %d", MaxGeneratedCodes)
	}
	g, err := newGenerator(c.Voucher.CodeConfig)
	if err != nil {
		return nil, err
	}
	if base+n > int64(g.MaxBatch()) {
		return nil, core.Errorf(core.CodeInvalid, "code_config allows about %.0f distinct codes; %d more than the %d the campaign has would crowd it (at most %d in all)",
			g.Space(), n, base, g.MaxBatch())
	}
	js, err := s.newJob(ctx, p, id, JobGenerate, n)
	if err != nil {
		return nil, err
	}
	gen := genParams{CampaignID: c.ID, Count: n, Base: base, Target: base + n}
	js.rec.Gen = &gen
	js.fn = s.generation(p, gen)
	return js, nil
}

// generation generates what the campaign still lacks to reach the target.
func (s *Service) generation(p string, gen genParams) JobFunc {
	return func(ctx context.Context, progress *JobProgress) (JobResult, error) {
		it, _, err := s.loadCampaign(ctx, p, gen.CampaignID)
		if err != nil {
			return JobResult{}, err
		}
		have := it.Num("vouchers")
		already := min(max(have-gen.Base, 0), gen.Count)
		progress.SetTotal(gen.Count)
		progress.Set(already)
		if missing := gen.Target - have; missing > 0 {
			_, err := s.GenerateCodes(ctx, p, gen.CampaignID, missing, func(done int64) { progress.Set(already + done) })
			if err != nil {
				return JobResult{}, err
			}
		}
		it, _, err = s.loadCampaign(ctx, p, gen.CampaignID)
		if err != nil {
			return JobResult{}, err
		}
		made := min(max(it.Num("vouchers")-gen.Base, 0), gen.Count)
		progress.Set(made)
		return JobResult{Message: fmt.Sprintf("%d voucher(s) generated successfully", made), DoneCount: made}, nil
	}
}

// ---- request ids

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request that may start a
// job, shown as the job's request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
