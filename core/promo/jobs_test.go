package promo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/enginetest"
)

// tickingClock moves forward by step at every reading, so that the 250 ms
// between progress writes pass however fast the engine is: tests see
// progress without sleeping.
type tickingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func newTickingClock() *tickingClock {
	return &tickingClock{now: time.Now().UTC(), step: 10 * time.Millisecond}
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// jobService is a promo service with a job runner, closed at the end of the
// test; observe (optional) sees every stored change of a job.
func jobService(t *testing.T, s core.Store, clock core.Clock, observe func(promo.Job)) (*promo.Service, *promo.JobRunner) {
	t.Helper()
	svc := app.New(s, clock).Promo
	runner := promo.NewJobRunner()
	runner.Observe = observe
	svc.Jobs = runner
	t.Cleanup(func() { _ = runner.Close() })
	return svc, runner
}

// jobRecorder keeps what Observe reports.
type jobRecorder struct {
	mu   sync.Mutex
	seen []promo.Job
}

func (r *jobRecorder) observe(j promo.Job) {
	r.mu.Lock()
	r.seen = append(r.seen, j)
	r.mu.Unlock()
}

func (r *jobRecorder) jobs() []promo.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]promo.Job(nil), r.seen...)
}

func giftCampaign(t *testing.T, svc *promo.Service, name string) promo.Campaign {
	t.Helper()
	c, err := svc.CreateCampaign(context.Background(), proj, promo.CampaignInput{Name: name, CampaignType: promo.CampaignGiftVouchers,
		Voucher: promo.CampaignVoucher{Gift: &promo.Gift{Amount: 2500}, CodeConfig: &promo.CodeConfig{Pattern: "GC-########"}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// campaignCodes lists every code of a campaign and fails on a repeated one.
func campaignCodes(t *testing.T, svc *promo.Service, campaign string) map[string]bool {
	t.Helper()
	codes := map[string]bool{}
	cursor := ""
	for {
		pg, err := svc.ListVouchers(context.Background(), proj, campaign, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range pg.Vouchers {
			if codes[v.Code] {
				t.Fatalf("code %s listed twice", v.Code)
			}
			codes[v.Code] = true
		}
		if pg.Next == "" {
			return codes
		}
		cursor = pg.Next
	}
}

func mustJob(t *testing.T, svc *promo.Service, id string) promo.Job {
	t.Helper()
	j, err := svc.GetJob(context.Background(), proj, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestGenerationJob: a job generating 5,000 codes reports progress on the
// way, ends DONE with progress 100, and the campaign has exactly 5,000
// distinct codes.
func TestGenerationJob(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		rec := &jobRecorder{}
		svc, runner := jobService(t, s, newTickingClock(), rec.observe)
		c := giftCampaign(t, svc, "Bulk gift cards")
		n := sized(s, 5000) // DynamoDB Local writes about 150 codes a second
		started, err := svc.StartGeneration(ctx, proj, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		runner.Wait()

		j := mustJob(t, svc, started.AsyncActionID)
		if j.Status != promo.JobDone || j.Progress != 100 || j.DoneCount != n || j.TotalCount != n ||
			j.Type != promo.JobGenerate || j.Object != "async_action" || j.Result == nil || j.Result.DoneCount != n {
			t.Fatalf("job %+v (result %+v), want DONE, 100%%, %d of %d", j, j.Result, n, n)
		}
		intermediate, last := 0, -1
		for _, o := range rec.jobs() {
			if o.Progress < last {
				t.Fatalf("progress went back from %d to %d", last, o.Progress)
			}
			last = o.Progress
			if o.Status == promo.JobInProgress && o.Progress > 0 && o.Progress < 100 {
				intermediate++
			}
		}
		if intermediate == 0 {
			t.Fatalf("no progress reported between 0 and 100: %+v", rec.jobs())
		}
		if intermediate > 100 {
			t.Fatalf("%d progress writes for 5,000 codes, want at most one per percent", intermediate)
		}
		if got, err := svc.GetCampaign(ctx, proj, c.ID); err != nil || got.VouchersCount != n {
			t.Fatalf("campaign counts %d codes (%v), want %d", got.VouchersCount, err, n)
		}
		if codes := campaignCodes(t, svc, c.ID); int64(len(codes)) != n {
			t.Fatalf("%d distinct codes listed, want %d", len(codes), n)
		}
		if n, err := svc.ResumeJobs(ctx, 0); err != nil || n != 0 {
			t.Fatalf("ResumeJobs after a finished job took %d (%v), want none", n, err)
		}
	})
}

// TestCreateCampaignStartsGeneration: vouchers_count above MaxInlineCodes
// answers the campaign with the async action generating its codes.
func TestCreateCampaignStartsGeneration(t *testing.T) {
	// Embedded only: it needs more than MaxInlineCodes codes, which DynamoDB
	// Local writes slowly; the job path itself runs on both engines in
	// TestGenerationJob and TestGenerationResumesAfterCrash.
	func(fn func(t *testing.T, s core.Store)) { fn(t, enginetest.Embedded(t, nil)) }(func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc, runner := jobService(t, s, nil, nil)
		cc, err := svc.CreateCampaignAsync(ctx, proj, promo.CampaignInput{Name: "Big", CampaignType: promo.CampaignDiscountCoupons,
			VouchersCount: promo.MaxInlineCodes + 200,
			Voucher:       promo.CampaignVoucher{Discount: &promo.Discount{Type: "PERCENT", PercentOff: ptr(10.0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if cc.AsyncActionID == "" || cc.ID == "" {
			t.Fatalf("created %+v, want a campaign with an async_action_id", cc)
		}
		runner.Wait()
		if j := mustJob(t, svc, cc.AsyncActionID); j.Status != promo.JobDone || j.DoneCount != promo.MaxInlineCodes+200 {
			t.Fatalf("job %+v, want DONE with %d codes", j, promo.MaxInlineCodes+200)
		}
		if got, _ := svc.GetCampaign(ctx, proj, cc.ID); got.VouchersCount != promo.MaxInlineCodes+200 {
			t.Fatalf("campaign has %d codes, want %d", got.VouchersCount, promo.MaxInlineCodes+200)
		}
		if _, err := svc.CreateCampaignAsync(ctx, proj, promo.CampaignInput{Name: "Tiny space", CampaignType: promo.CampaignDiscountCoupons,
			VouchersCount: 5000, Voucher: promo.CampaignVoucher{Discount: &promo.Discount{Type: "PERCENT", PercentOff: ptr(10.0)},
				CodeConfig: &promo.CodeConfig{Pattern: "X-###", Charset: "0123456789"}}}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("5,000 codes from a space of 1,000: err %v, want invalid", err)
		}
		if _, err := svc.GetCampaign(ctx, proj, "Tiny space"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("refused campaign was stored: %v", err)
		}
	})
}

// TestGenerationResumesAfterCrash: a runner stopped mid-way leaves its job
// IN_PROGRESS; a new service on the same store resumes it and the campaign
// ends with exactly the target count.
func TestGenerationResumesAfterCrash(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		clock := newTickingClock()
		midway := make(chan struct{})
		var once sync.Once
		svc1, runner1 := jobService(t, s, clock, func(j promo.Job) {
			if j.Status == promo.JobInProgress && j.Progress >= 20 {
				once.Do(func() { close(midway) })
			}
		})
		c := giftCampaign(t, svc1, "Resumable")
		n := sized(s, 2000) * 3 // enough that the stop lands mid-way on either engine
		started, err := svc1.StartGeneration(ctx, proj, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		<-midway
		if err := runner1.Close(); err != nil { // the crash
			t.Fatal(err)
		}
		j := mustJob(t, svc1, started.AsyncActionID)
		made, _ := svc1.GetCampaign(ctx, proj, c.ID)
		if j.Status != promo.JobInProgress || made.VouchersCount == 0 || made.VouchersCount >= n {
			t.Fatalf("after the stop: job %s with %d codes made, want IN_PROGRESS part way", j.Status, made.VouchersCount)
		}

		svc2, runner2 := jobService(t, s, clock, nil)
		if n, err := svc2.ResumeJobs(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("ResumeJobs(1h) took %d jobs (%v); the job was written moments ago", n, err)
		}
		if n, err := svc2.ResumeJobs(ctx, 0); err != nil || n != 1 {
			t.Fatalf("ResumeJobs took %d jobs (%v), want 1", n, err)
		}
		runner2.Wait()
		j = mustJob(t, svc2, started.AsyncActionID)
		if j.Status != promo.JobDone || j.DoneCount != n || j.Progress != 100 {
			t.Fatalf("resumed job %+v, want DONE with %d", j, n)
		}
		if got, _ := svc2.GetCampaign(ctx, proj, c.ID); got.VouchersCount != n {
			t.Fatalf("campaign has %d codes after the resume, want %d", got.VouchersCount, n)
		}
		if codes := campaignCodes(t, svc2, c.ID); int64(len(codes)) != n {
			t.Fatalf("%d distinct codes listed, want %d", len(codes), n)
		}
	})
}

// TestInterruptedJobFailsOnResume: a job that cannot be resumed is marked
// FAILED with a message, not left IN_PROGRESS.
func TestInterruptedJobFailsOnResume(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc1, runner1 := jobService(t, s, nil, nil)
		running := make(chan struct{})
		started, err := svc1.StartJob(ctx, proj, "PROMORELAY.TEST", 1, func(ctx context.Context, p *promo.JobProgress) (promo.JobResult, error) {
			close(running)
			<-ctx.Done()
			return promo.JobResult{}, ctx.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		<-running
		_ = runner1.Close()
		if j := mustJob(t, svc1, started.AsyncActionID); j.Status != promo.JobInProgress {
			t.Fatalf("stopped job is %s, want IN_PROGRESS", j.Status)
		}
		svc2, runner2 := jobService(t, s, nil, nil)
		if n, err := svc2.ResumeJobs(ctx, 0); err != nil || n != 1 {
			t.Fatalf("ResumeJobs took %d (%v), want 1", n, err)
		}
		runner2.Wait()
		j := mustJob(t, svc2, started.AsyncActionID)
		if j.Status != promo.JobFailed || j.Result == nil || j.Result.Message == "" {
			t.Fatalf("job %+v, want FAILED with a message", j)
		}
		jobs, _, err := svc2.ListJobs(ctx, proj, 10, "")
		if err != nil || len(jobs) != 1 || jobs[0].ID != started.AsyncActionID {
			t.Fatalf("ListJobs = %+v, %v", jobs, err)
		}
	})
}

// TestJobsRefusedWithoutRunner: a service without a runner refuses to start
// jobs instead of losing them.
func TestJobsRefusedWithoutRunner(t *testing.T) {
	s := enginetest.Embedded(t, nil)
	svc := newService(s)
	svc.Jobs = nil // app.New gives every service a runner
	c := giftCampaign(t, svc, "No runner")
	if _, err := svc.StartGeneration(context.Background(), proj, c.ID, 5000); core.ErrorCode(err) != core.CodeUnavailable {
		t.Fatalf("StartGeneration without a runner: %v, want unavailable", err)
	}
}

// BenchmarkGenerationJob generates b.N codes by generation jobs on the
// embedded engine, durable writes included. The design's measure is
//
//	go test -run '^$' -bench GenerationJob -benchtime 1000000x ./core/promo/
func BenchmarkGenerationJob(b *testing.B) {
	ctx := context.Background()
	s := enginetest.Embedded(b, nil)
	svc := app.New(s, nil).Promo
	runner := promo.NewJobRunner()
	svc.Jobs = runner
	b.Cleanup(func() { _ = runner.Close() })
	c, err := svc.CreateCampaign(ctx, proj, promo.CampaignInput{Name: "Million", CampaignType: promo.CampaignGiftVouchers,
		Voucher: promo.CampaignVoucher{Gift: &promo.Gift{Amount: 2500}, CodeConfig: &promo.CodeConfig{Pattern: "GC-##########"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var ids []string
	for left := int64(b.N); left > 0; left -= promo.MaxGeneratedCodes {
		started, err := svc.StartGeneration(ctx, proj, c.ID, min(left, promo.MaxGeneratedCodes))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, started.AsyncActionID)
	}
	runner.Wait()
	b.StopTimer()
	for _, id := range ids {
		if j, err := svc.GetJob(ctx, proj, id); err != nil || j.Status != promo.JobDone {
			b.Fatalf("job %+v: %v", j, err)
		}
	}
	if got, _ := svc.GetCampaign(ctx, proj, c.ID); got.VouchersCount != int64(b.N) {
		b.Fatalf("campaign has %d codes, want %d", got.VouchersCount, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
}

// sized scales a job's size down on DynamoDB Local, which writes a few
// hundred items a second, so that both engines run in reasonable time.
func sized(s core.Store, n int64) int64 {
	if _, ok := s.(*dynamo.Store); ok {
		return max(1, n/10)
	}
	return n
}
