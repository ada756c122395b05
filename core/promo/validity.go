package promo

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

var isoDuration = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseDuration reads the ISO 8601 durations Voucherify's validity_timeframe
// uses (weeks, days, hours, minutes, seconds).
func parseDuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as P1D or PT2H", s)
	}
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
		d += time.Duration(n) * u
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is zero", s)
	}
	return d, nil
}

var hhmm = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)$`)

func minutesOf(s string) (int, bool) {
	m := hhmm.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return h*60 + mm, true
}

func validateValidity(v Validity) error {
	var probs []string
	if tf := v.ValidityTimeframe; tf != nil {
		iv, err1 := parseDuration(tf.Interval)
		du, err2 := parseDuration(tf.Duration)
		if err1 != nil {
			probs = append(probs, "validity_timeframe.interval: "+err1.Error())
		}
		if err2 != nil {
			probs = append(probs, "validity_timeframe.duration: "+err2.Error())
		}
		if err1 == nil && err2 == nil && du > iv {
			probs = append(probs, "validity_timeframe.duration is longer than its interval")
		}
		if v.StartDate == nil {
			probs = append(probs, "validity_timeframe needs a start_date to count from")
		}
	}
	for _, d := range v.ValidityDayOfWeek {
		if d < 0 || d > 6 {
			probs = append(probs, fmt.Sprintf("validity_day_of_week: %d is not 0 (Sunday) to 6", d))
		}
	}
	if v.ValidityHours != nil {
		for i, h := range v.ValidityHours.Daily {
			a, ok1 := minutesOf(h.StartTime)
			b, ok2 := minutesOf(h.ExpirationTime)
			if !ok1 || !ok2 || a >= b {
				probs = append(probs, fmt.Sprintf("validity_hours.daily[%d]: want start_time < expiration_time as HH:MM", i))
			}
			for _, d := range h.DaysOfWeek {
				if d < 0 || d > 6 {
					probs = append(probs, fmt.Sprintf("validity_hours.daily[%d].days_of_week: %d is not 0 to 6", i, d))
				}
			}
		}
	}
	return joinProblems(probs)
}

// Validity failure keys (Voucherify's).
const (
	reasonNotActiveYet = "voucher_not_active"
	reasonExpired      = "voucher_expired"
	reasonOutsideTime  = "voucher_not_active_now"
)

// check reports why v does not hold at now ("" when it holds).
func (v Validity) check(now time.Time) string {
	if v.StartDate != nil && now.Before(*v.StartDate) {
		return reasonNotActiveYet
	}
	if v.ExpirationDate != nil && !now.Before(*v.ExpirationDate) {
		return reasonExpired
	}
	if tf := v.ValidityTimeframe; tf != nil && v.StartDate != nil {
		iv, err1 := parseDuration(tf.Interval)
		du, err2 := parseDuration(tf.Duration)
		if err1 == nil && err2 == nil && now.Sub(*v.StartDate)%iv >= du {
			return reasonOutsideTime
		}
	}
	if len(v.ValidityDayOfWeek) > 0 && !containsInt(v.ValidityDayOfWeek, int(now.Weekday())) {
		return reasonOutsideTime
	}
	if v.ValidityHours != nil && len(v.ValidityHours.Daily) > 0 {
		mins := now.Hour()*60 + now.Minute()
		ok := false
		for _, h := range v.ValidityHours.Daily {
			a, _ := minutesOf(h.StartTime)
			b, _ := minutesOf(h.ExpirationTime)
			if (len(h.DaysOfWeek) == 0 || containsInt(h.DaysOfWeek, int(now.Weekday()))) && mins >= a && mins < b {
				ok = true
				break
			}
		}
		if !ok {
			return reasonOutsideTime
		}
	}
	return ""
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
