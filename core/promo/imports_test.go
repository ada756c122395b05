package promo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/internal/enginetest"
)

// importAndWait imports and waits for the job; it returns the job.
func importAndWait(t *testing.T, svc *promo.Service, runner *promo.JobRunner, in promo.ImportInput) promo.Job {
	t.Helper()
	started, err := svc.ImportVouchers(context.Background(), proj, in)
	if err != nil {
		t.Fatal(err)
	}
	runner.Wait()
	return mustJob(t, svc, started.AsyncActionID)
}

func mustVoucher(t *testing.T, svc *promo.Service, code string) promo.Voucher {
	t.Helper()
	v, err := svc.GetVoucher(context.Background(), proj, code)
	if err != nil {
		t.Fatalf("voucher %s: %v", code, err)
	}
	return v
}

// assertNoVouchers fails when any of codes exists. Of many codes it reads
// every 25th (a code and its list entry go in one transaction, so callers
// also check the campaign's listing).
func assertNoVouchers(t *testing.T, svc *promo.Service, codes ...string) {
	t.Helper()
	for i, code := range codes {
		if len(codes) > 100 && i%25 != 0 && i != len(codes)-1 {
			continue
		}
		if _, err := svc.GetVoucher(context.Background(), proj, code); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("voucher %s: %v, want not found", code, err)
		}
	}
}

func problemsOf(t *testing.T, err error) *promo.ImportProblems {
	t.Helper()
	var probs *promo.ImportProblems
	if !errors.As(err, &probs) {
		t.Fatalf("err %v carries no import problems", err)
	}
	return probs
}

func TestImportJSON(t *testing.T) {
	body := `[
  {"code": "SAVE-30", "type": "DISCOUNT_VOUCHER", "category": "new customers", "active": true,
   "discount": {"type": "AMOUNT", "amount_off": 3000},
   "start_date": "2026-01-01", "expiration_date": "2027-12-31T23:00:00Z",
   "redemption": {"quantity": 1}, "metadata": {"unit": "EUR"}, "additional_info": "secret", "unknown": 1},
  {"code": "PCT-10", "type": "DISCOUNT_VOUCHER", "active": false, "discount": {"type": "PERCENT", "percent_off": 10}},
  {"code": "GIFT-100", "type": "GIFT_VOUCHER", "gift": {"amount": 10000}, "redemption": {"quantity": 5}}
]`
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		svc, runner := jobService(t, s, nil, nil)
		renamed := strings.NewReplacer(`"SAVE-30"`, `"B-SAVE-30"`, `"PCT-10"`, `"B-PCT-10"`, `"GIFT-100"`, `"B-GIFT-100"`).Replace(body)
		for _, b := range []string{body, `{"vouchers": ` + renamed + `, "other": {"x": [1]}}`} {
			rows, err := promo.ParseImportJSON([]byte(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[0].Line != 2 || rows[1].Line != 6 || rows[2].Item != 3 {
				t.Fatalf("rows %+v: want 3, starting on lines 2, 6, 7", rows)
			}
			j := importAndWait(t, svc, runner, promo.ImportInput{Type: promo.JobImport, Rows: rows})
			if j.Status != promo.JobDone || j.DoneCount != 3 || j.Type != promo.JobImport {
				t.Fatalf("job %+v, want DONE with 3", j)
			}
		}
		v := mustVoucher(t, svc, "SAVE-30")
		if v.Discount == nil || *v.Discount.AmountOff != 3000 || v.Category != "new customers" || !v.Active ||
			*v.Redemption.Quantity != 1 || v.Metadata["unit"] != "EUR" || v.AdditionalInfo != "secret" ||
			!v.StartDate.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !v.ExpirationDate.Equal(time.Date(2027, 12, 31, 23, 0, 0, 0, time.UTC)) {
			t.Fatalf("SAVE-30 = %+v", v)
		}
		if v := mustVoucher(t, svc, "PCT-10"); v.Active || *v.Discount.PercentOff != 10 {
			t.Fatalf("PCT-10 = %+v", v)
		}
		if v := mustVoucher(t, svc, "GIFT-100"); v.Gift == nil || v.Gift.Balance != 10000 || v.CampaignID != "" {
			t.Fatalf("GIFT-100 = %+v", v)
		}
		mustVoucher(t, svc, "B-GIFT-100")
	})
}

func TestImportCSVIntoCampaign(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc, runner := jobService(t, s, nil, nil)
		c := giftCampaign(t, svc, "Imported gift cards")

		csv := "\ufeffCode,Value,Expiration Date,Season,Redeemed Amount,Active\r\n" +
			"GC-A,5000,2027-01-01,fall,,true\r\n" +
			"\r\n" +
			"GC-B,,2027-06-30T12:00,winter,500,\r\n" +
			"GC-C,1000,,\"spring, early\",,false\r\n"
		rows, err := promo.ParseImportCSV([]byte(csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		j := importAndWait(t, svc, runner, promo.ImportInput{Type: promo.JobCampaignImportCSV, Campaign: c.Name, Rows: rows})
		if j.Status != promo.JobDone || j.DoneCount != 3 {
			t.Fatalf("job %+v (%+v), want DONE with 3", j, j.Result)
		}
		a := mustVoucher(t, svc, "GC-A")
		if a.CampaignID != c.ID || a.Gift.Amount != 5000 || a.Gift.Balance != 5000 || a.Metadata["Season"] != "fall" ||
			!a.ExpirationDate.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || !a.Active {
			t.Fatalf("GC-A = %+v", a)
		}
		// No value: the campaign's 2500; 500 of it already spent elsewhere.
		if b := mustVoucher(t, svc, "GC-B"); b.Gift.Amount != 2500 || b.Gift.Balance != 2000 || b.Metadata["Season"] != "winter" {
			t.Fatalf("GC-B = %+v", b)
		}
		if cc := mustVoucher(t, svc, "GC-C"); cc.Active || cc.Metadata["Season"] != "spring, early" {
			t.Fatalf("GC-C = %+v", cc)
		}
		if got, _ := svc.GetCampaign(ctx, proj, c.ID); got.VouchersCount != 3 {
			t.Fatalf("campaign counts %d codes, want 3", got.VouchersCount)
		}

		// A file with its own headers, mapped.
		mapped := "Coupon;Amount;Ends;Note\n"
		mapped = strings.ReplaceAll(mapped, ";", ",") + "GC-D,700,2028-01-01,vip\n"
		rows, err = promo.ParseImportCSV([]byte(mapped), map[string]string{"Coupon": "code", "Amount": "gift_amount", "Ends": "Expiration Date", "Note": "metadata.tier"})
		if err != nil {
			t.Fatal(err)
		}
		if j := importAndWait(t, svc, runner, promo.ImportInput{Type: promo.JobCampaignImportCSV, Campaign: c.ID, Rows: rows}); j.Status != promo.JobDone {
			t.Fatalf("mapped import: %+v", j)
		}
		if d := mustVoucher(t, svc, "GC-D"); d.Gift.Amount != 700 || d.Metadata["tier"] != "vip" || d.ExpirationDate == nil {
			t.Fatalf("GC-D = %+v", d)
		}
		if sum, err := svc.Summary(ctx, proj, c.ID); err != nil || sum.VouchersCreated != 4 || sum.CreatedVouchersAmount != 5000+2500+1000+700 {
			t.Fatalf("summary %+v (%v), want 4 codes worth 9200", sum, err)
		}
	})
}

func TestParseImportCSVRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name, csv string
		mapping   map[string]string
		want      string
	}{
		{"empty", "", nil, "empty"},
		{"no code column", "Value,Category\n1,a\n", nil, "no Code column"},
		{"unknown mapping column", "Code\nA\n", map[string]string{"Amount": "gift_amount"}, `"Amount"`},
		{"unknown mapping field", "Code,X\nA,1\n", map[string]string{"X": "colour"}, `unknown field "colour"`},
		{"two columns one field", "Code,Coupon\nA,B\n", map[string]string{"Coupon": "code"}, "both give code"},
		{"bare quote", "Code\nA\"B\n", nil, "malformed CSV at line 2"},
		{"loyalty", "Code,Loyalty Points\nA,1\n", nil, "loyalty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := promo.ParseImportCSV([]byte(tt.csv), tt.mapping)
			if core.ErrorKey(err) != "invalid_payload" || !strings.Contains(core.ErrorMessage(err), tt.want) {
				t.Fatalf("err %v, want invalid_payload mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseImportJSONRefusesBadBodies(t *testing.T) {
	for _, body := range []string{``, `{`, `"codes"`, `{"codes": []}`, `[{"code": "A"},]`, `{"vouchers": {}}`} {
		if _, err := promo.ParseImportJSON([]byte(body)); core.ErrorKey(err) != "invalid_payload" {
			t.Errorf("%q: err %v, want invalid_payload", body, err)
		}
	}
}

// TestImportReportsEveryBadRow: an import with three bad rows reports
// exactly those lines and writes nothing.
func TestImportReportsEveryBadRow(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc, _ := jobService(t, s, nil, nil)
		csv := "Code,Voucher Type,Value,Expiration Date\n" + // line 1
			"OK-1,GIFT_VOUCHER,1000,2027-01-01\n" + // 2
			"OK-2,GIFT_VOUCHER,2000,\n" + // 3
			"BAD-1,GIFT_VOUCHER,-5,\n" + // 4: gift amount must be positive
			"OK-3,GIFT_VOUCHER,3000,\n" + // 5
			"BAD-2,GIFT_VOUCHER,1000,31/12/2027\n" + // 6: not an ISO date
			"OK-4,GIFT_VOUCHER,4000,\n" + // 7
			"OK-2,GIFT_VOUCHER,5000,\n" + // 8: repeats line 3
			"OK-5,GIFT_VOUCHER,6000,\n" // 9
		rows, err := promo.ParseImportCSV([]byte(csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.ImportVouchers(ctx, proj, promo.ImportInput{Type: promo.JobImportCSV, Rows: rows})
		if core.ErrorCode(err) != core.CodeInvalid || core.ErrorKey(err) != "invalid_voucher" {
			t.Fatalf("err %v, want invalid_voucher", err)
		}
		probs := problemsOf(t, err)
		var lines []int
		for _, p := range probs.Problems {
			lines = append(lines, p.Line)
		}
		if probs.Total != 3 || !slices.Equal(lines, []int{4, 6, 8}) {
			t.Fatalf("problems %+v, want lines 4, 6, 8", probs)
		}
		for i, want := range []string{"gift.amount must be a positive", "not an ISO 8601 date", "repeats line 3"} {
			if !strings.Contains(probs.Problems[i].Reason, want) {
				t.Errorf("line %d: %q, want %q", probs.Problems[i].Line, probs.Problems[i].Reason, want)
			}
		}
		assertNoVouchers(t, svc, "OK-1", "OK-2", "OK-3", "OK-4", "OK-5")
		if jobs, _, _ := svc.ListJobs(ctx, proj, 10, ""); len(jobs) != 0 {
			t.Fatalf("a refused import stored jobs: %+v", jobs)
		}

		// JSON items are reported by position and line, and the list is capped.
		var b strings.Builder
		b.WriteString("[\n")
		for i := range 150 {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, `{"code": "J-%d", "type": "GIFT_VOUCHER", "gift": {"amount": %d}}`, i, i%2)
		}
		b.WriteString("\n]")
		rows, err = promo.ParseImportJSON([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.ImportVouchers(ctx, proj, promo.ImportInput{Rows: rows})
		probs = problemsOf(t, err)
		if probs.Total != 75 || len(probs.Problems) != 75 || probs.Problems[0].Item != 1 || probs.Problems[0].Line != 2 || probs.Problems[1].Item != 3 {
			t.Fatalf("problems: total %d, first %+v", probs.Total, probs.Problems[:2])
		}
		assertNoVouchers(t, svc, "J-1")
	})
}

func TestImportProblemListIsCapped(t *testing.T) {
	s := enginetest.Embedded(t, nil)
	svc, _ := jobService(t, s, nil, nil)
	var b strings.Builder
	b.WriteString("Code,Voucher Type,Value\n")
	for i := range 250 {
		fmt.Fprintf(&b, "C-%d,GIFT_VOUCHER,0\n", i)
	}
	rows, err := promo.ParseImportCSV([]byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.ImportVouchers(context.Background(), proj, promo.ImportInput{Rows: rows})
	probs := problemsOf(t, err)
	if probs.Total != 250 || len(probs.Problems) != promo.MaxImportProblems || probs.Problems[99].Line != 101 {
		t.Fatalf("total %d, listed %d", probs.Total, len(probs.Problems))
	}
	if !strings.Contains(core.ErrorMessage(err), "and 240 more") {
		t.Fatalf("message %q", core.ErrorMessage(err))
	}
}

// giftRows makes n gift card rows with codes prefix-0 … prefix-(n-1).
func giftRows(prefix string, n int) []promo.ImportRow {
	rows := make([]promo.ImportRow, n)
	for i := range rows {
		rows[i] = promo.ImportRow{Line: i + 2, Voucher: promo.VoucherInput{Code: fmt.Sprintf("%s-%d", prefix, i), Gift: &promo.Gift{Amount: 1000}}}
	}
	return rows
}

func rowCodes(rows []promo.ImportRow) []string {
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.Voucher.Code
	}
	return codes
}

// TestImportCollidingWithExistingCode: an import meeting a code that exists
// leaves none of its codes behind, small (refused before any write) or
// large (written in batches, then removed).
func TestImportCollidingWithExistingCode(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc, runner := jobService(t, s, nil, nil)
		c := giftCampaign(t, svc, "Collisions")
		if _, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "TAKEN-1100", Type: promo.TypeGift, Gift: &promo.Gift{Amount: 100}}); err != nil {
			t.Fatal(err)
		}

		small := giftRows("TAKEN", 5)
		small[3].Voucher.Code = "TAKEN-1100"
		_, err := svc.ImportVouchers(ctx, proj, promo.ImportInput{Type: promo.JobCampaignImport, Campaign: c.ID, Rows: small})
		if core.ErrorKey(err) != "duplicate_key" || problemsOf(t, err).Problems[0].Line != 5 {
			t.Fatalf("small import: %v, want duplicate_key on line 5", err)
		}
		assertNoVouchers(t, svc, "TAKEN-0", "TAKEN-4")

		large := giftRows("TAKEN", promo.MaxInlineCodes+200) // TAKEN-1100 is on line 1102
		j := importAndWait(t, svc, runner, promo.ImportInput{Type: promo.JobCampaignImport, Campaign: c.ID, Rows: large})
		if j.Status != promo.JobFailed || j.Result == nil || j.Result.FailedCount != 1 || len(j.Result.Failed) != 1 ||
			j.Result.Failed[0].Line != 1102 || j.Result.Failed[0].Code != "TAKEN-1100" {
			t.Fatalf("job %+v (result %+v), want FAILED naming line 1102", j, j.Result)
		}
		codes := rowCodes(large)
		assertNoVouchers(t, svc, slices.DeleteFunc(codes, func(c string) bool { return c == "TAKEN-1100" })...)
		if got, _ := svc.GetCampaign(ctx, proj, c.ID); got.VouchersCount != 0 {
			t.Fatalf("campaign counts %d codes after the failed import, want 0", got.VouchersCount)
		}
		if sum, err := svc.Summary(ctx, proj, c.ID); err != nil || sum.VouchersCreated != 0 || sum.CreatedVouchersAmount != 0 {
			t.Fatalf("summary %+v (%v) after the failed import, want nothing created", sum, err)
		}
		if left := campaignCodes(t, svc, c.ID); len(left) != 0 {
			t.Fatalf("%d codes listed after the failed import", len(left))
		}
		if v := mustVoucher(t, svc, "TAKEN-1100"); v.Gift.Amount != 100 {
			t.Fatalf("the existing code was changed: %+v", v)
		}
	})
}

// TestInterruptedImportRemovedOnResume: an import stopped mid-way leaves
// codes behind until the next start, when ResumeJobs removes them and marks
// the job FAILED.
func TestInterruptedImportRemovedOnResume(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		midway := make(chan struct{})
		var once sync.Once
		svc1, runner1 := jobService(t, s, newTickingClock(), func(j promo.Job) {
			if j.Status == promo.JobInProgress && j.DoneCount >= 300 {
				once.Do(func() { close(midway) })
			}
		})
		c := giftCampaign(t, svc1, "Interrupted")
		rows := giftRows("INT", 3000)
		started, err := svc1.ImportVouchers(ctx, proj, promo.ImportInput{Type: promo.JobCampaignImportCSV, Campaign: c.ID, Rows: rows})
		if err != nil {
			t.Fatal(err)
		}
		<-midway
		_ = runner1.Close()
		if got, _ := svc1.GetCampaign(ctx, proj, c.ID); got.VouchersCount < 300 || got.VouchersCount >= 3000 {
			t.Fatalf("after the stop the campaign has %d codes, want part of the import", got.VouchersCount)
		}

		svc2, runner2 := jobService(t, s, nil, nil)
		if n, err := svc2.ResumeJobs(ctx, 0); err != nil || n != 1 {
			t.Fatalf("ResumeJobs took %d (%v), want 1", n, err)
		}
		runner2.Wait()
		j := mustJob(t, svc2, started.AsyncActionID)
		if j.Status != promo.JobFailed || j.Result == nil || !strings.Contains(j.Result.Message, "interrupted") {
			t.Fatalf("job %+v (%+v), want FAILED as interrupted", j, j.Result)
		}
		assertNoVouchers(t, svc2, rowCodes(rows)...)
		if got, _ := svc2.GetCampaign(ctx, proj, c.ID); got.VouchersCount != 0 {
			t.Fatalf("campaign counts %d codes, want 0", got.VouchersCount)
		}
		if left := campaignCodes(t, svc2, c.ID); len(left) != 0 {
			t.Fatalf("%d codes listed after the interrupted import was removed", len(left))
		}
	})
}
