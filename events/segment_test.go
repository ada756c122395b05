package events

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

var segmentReceivedAt = time.Date(2026, 3, 1, 10, 0, 7, 120e6, time.UTC)

func TestParseCallFixtures(t *testing.T) {
	tests := []struct {
		file string
		want customer.Message // Traits and Properties are checked by check
		// check looks at the maps, which hold whole JSON objects.
		check func(t *testing.T, m customer.Message)
	}{
		{
			file: "identify",
			want: customer.Message{
				MessageID: "ajs-next-4f2b1c0e8a1d4c3b9f2e7d6a5b4c3d2e", Type: "identify",
				UserID: "97980cfea0067", AnonymousID: "507f191e810c19729de860ea",
				Email:    "ada.lovelace@example.com",
				Consents: map[string]bool{"advertising": false, "analytics": true, "functional": true, "email": true, "sms": false},
				// 10:00:04.980 moved by receivedAt − sentAt = 2s.
				Timestamp: at(t, "2026-03-01T10:00:06.980Z"),
			},
			check: func(t *testing.T, m customer.Message) {
				if m.Traits["plan"] != "premium" || m.Traits["logins"] != float64(5) {
					t.Errorf("traits = %v", m.Traits)
				}
			},
		},
		{
			file: "track",
			want: customer.Message{
				MessageID: "node-next-1740823204000-7c9d2a1f-3b4e-4d5f-8a6b-9c0d1e2f3a4b", Type: "track",
				UserID: "12345", Event: "Order Completed", Email: "ada.lovelace@example.com",
				Consents:  map[string]bool{"email": true, "sms": false},
				Timestamp: at(t, "2026-03-01T10:00:04Z"), // no sentAt: as sent, in UTC
			},
			check: func(t *testing.T, m customer.Message) {
				if m.Properties["revenue"] != float64(25) || m.Properties["coupon"] != "SUMMER10" {
					t.Errorf("properties = %v", m.Properties)
				}
				if m.Traits["email"] != "Ada.Lovelace@example.com" {
					t.Errorf("traits (context.traits) = %v", m.Traits)
				}
			},
		},
		{
			file: "page",
			want: customer.Message{
				MessageID: "ajs-next-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", Type: "page",
				AnonymousID: "507f191e810c19729de860ea", Name: "Pricing",
				Timestamp: at(t, "2026-03-01T10:00:06.620Z"),
			},
			check: func(t *testing.T, m customer.Message) {
				if m.Properties["path"] != "/pricing" {
					t.Errorf("properties = %v", m.Properties)
				}
			},
		},
		{
			file: "screen",
			want: customer.Message{
				MessageID: "E3C2B1A0-9F8E-4D7C-6B5A-4F3E2D1C0B9A", Type: "screen",
				UserID: "u_8842", AnonymousID: "3A6D3D0B-2E51-4E6B-9F3C-5E2B1C0D9A8F",
				Name: "Product Detail", Email: "sam@example.org",
				Timestamp: at(t, "2026-03-01T09:58:37.120Z"),
			},
		},
		{
			file: "group",
			want: customer.Message{
				MessageID: "ruby-3f0c1d2e-4b5a-6978-8a9b-0c1d2e3f4a5b", Type: "group",
				UserID: "019mr8mf4r", GroupID: "0e8c78ea9d97a7b8185e8632",
				Email:     "peter@initech.example", // the user's, not the group's billing address
				Timestamp: at(t, "2026-03-01T10:05:00Z"),
			},
			check: func(t *testing.T, m customer.Message) {
				if m.Traits["name"] != "Initech" || m.Traits["employees"] != float64(329) {
					t.Errorf("traits = %v", m.Traits)
				}
			},
		},
		{
			file: "alias",
			want: customer.Message{
				MessageID: "py-8b7a6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d", Type: "alias",
				UserID: "507f191e81", PreviousID: "39239-239239-239239-23923",
				Timestamp: at(t, "2026-03-01T10:06:00Z"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := ParseCall(tt.file, mustFixture(t, "segment/"+tt.file+".json"), segmentReceivedAt)
			wantError(t, err, "")
			tt.want.Source, tt.want.ReceivedAt = "segment", segmentReceivedAt
			assertMessage(t, m, tt.want)
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

// assertMessage compares every field but Traits and Properties.
func assertMessage(t *testing.T, got, want customer.Message) {
	t.Helper()
	got.Traits, got.Properties = nil, nil
	if !maps.Equal(got.Consents, want.Consents) {
		t.Errorf("Consents = %v, want %v", got.Consents, want.Consents)
	}
	got.Consents, want.Consents = nil, nil
	if !got.Timestamp.Equal(want.Timestamp) || got.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp = %v, want %v in UTC", got.Timestamp, want.Timestamp)
	}
	got.Timestamp, want.Timestamp = time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("message =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseBatch(t *testing.T) {
	msgs, err := ParseBatch(mustFixture(t, "segment/batch.json"), segmentReceivedAt)
	wantError(t, err, "")
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	// The batch's sentAt (10:00:02) applies to every call: skew 5.12s.
	want := []customer.Message{
		{
			MessageID: "node-1-5b6c7d8e", Type: "identify", UserID: "97980cfea0067", AnonymousID: "507f191e810c19729de860ea",
			Email: "ada.lovelace@example.com", Consents: map[string]bool{"analytics": true, "marketing": true},
			Timestamp: at(t, "2026-03-01T10:00:05.120Z"),
		},
		{
			MessageID: "node-2-9f0a1b2c", Type: "track", UserID: "97980cfea0067", Event: "Product Added",
			// The call's own consent overrides the batch's Marketing.
			Consents:  map[string]bool{"analytics": true, "marketing": false},
			Timestamp: at(t, "2026-03-01T10:00:06.120Z"),
		},
		{
			MessageID: "node-3-3d4e5f6a", Type: "page", AnonymousID: "507f191e810c19729de860ea", Name: "Cart",
			Consents:  map[string]bool{"analytics": true, "marketing": true},
			Timestamp: segmentReceivedAt, // no timestamp
		},
	}
	for i := range want {
		want[i].Source, want[i].ReceivedAt = "segment", segmentReceivedAt
		assertMessage(t, msgs[i], want[i])
	}
}

func TestParseBatchContextNotShared(t *testing.T) {
	body := `{"batch":[{"type":"track","userId":"a","event":"E"},{"type":"track","userId":"b","event":"E","context":{"traits":{"tier":"gold"}}}],
		"context":{"traits":{"plan":"pro","tier":"silver"}}}`
	msgs, err := ParseBatch([]byte(body), segmentReceivedAt)
	wantError(t, err, "")
	msgs[0].Traits["plan"] = "changed"
	if msgs[1].Traits["plan"] != "pro" || msgs[1].Traits["tier"] != "gold" || msgs[0].Traits["tier"] != "silver" {
		t.Errorf("traits = %v and %v", msgs[0].Traits, msgs[1].Traits)
	}
}

func TestParseDestination(t *testing.T) {
	t.Run("single call, timestamps taken as corrected", func(t *testing.T) {
		msgs, err := ParseDestination(mustFixture(t, "segment/destination_track.json"), segmentReceivedAt)
		wantError(t, err, "")
		if len(msgs) != 1 {
			t.Fatalf("got %d messages", len(msgs))
		}
		assertMessage(t, msgs[0], customer.Message{
			Source: "segment", MessageID: "api-2dq0Zb8wLuRvD8y0xbmTD9fF0kP", Type: "track",
			UserID: "97980cfea0067", AnonymousID: "507f191e810c19729de860ea", Event: "Checkout Started",
			Timestamp: at(t, "2026-03-01T10:10:02Z"), ReceivedAt: segmentReceivedAt,
		})
	})
	t.Run("batch object", func(t *testing.T) {
		msgs, err := ParseDestination(mustFixture(t, "segment/batch.json"), segmentReceivedAt)
		wantError(t, err, "")
		if len(msgs) != 3 || !msgs[0].Timestamp.Equal(at(t, "2026-03-01T10:00:00Z")) {
			t.Fatalf("got %d messages, first at %v", len(msgs), msgs[0].Timestamp)
		}
	})
	t.Run("array", func(t *testing.T) {
		body := " [" + string(mustFixture(t, "segment/alias.json")) + "," + string(mustFixture(t, "segment/group.json")) + "]"
		msgs, err := ParseDestination([]byte(body), segmentReceivedAt)
		wantError(t, err, "")
		if len(msgs) != 2 || msgs[0].Type != "alias" || msgs[1].Type != "group" {
			t.Fatalf("messages = %+v", msgs)
		}
	})
	t.Run("call without type", func(t *testing.T) {
		_, err := ParseDestination([]byte(`{"userId":"u","event":"E"}`), segmentReceivedAt)
		wantError(t, err, "invalid_payload", "type is required")
	})
	t.Run("bad element", func(t *testing.T) {
		_, err := ParseDestination([]byte(`[{"type":"track","userId":"u","event":"E"}, 7]`), segmentReceivedAt)
		wantError(t, err, "invalid_payload", "batch[1]: call must be an object")
	})
}

func TestDerivedMessageID(t *testing.T) {
	parse := func(kind, body string) string {
		t.Helper()
		m, err := ParseCall(kind, []byte(body), segmentReceivedAt)
		wantError(t, err, "")
		return m.MessageID
	}
	a := parse("track", `{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"},"timestamp":"2026-01-02T03:04:05Z"}`)
	if !strings.HasPrefix(a, "derived-") || len(a) != len("derived-")+64 {
		t.Fatalf("derived id = %q", a)
	}
	if b := parse("track", "{ \"userId\": \"u1\",\n \"event\": \"Signed Up\", \"properties\": {\"plan\": \"pro\"}, \"timestamp\": \"2026-01-02T03:04:05Z\" }"); b != a {
		t.Errorf("a retry with other whitespace got %q, want %q", b, a)
	}
	if c := parse("track", `{"userId":"u1","event":"Signed Up","properties":{"plan":"free"},"timestamp":"2026-01-02T03:04:05Z"}`); c == a {
		t.Error("a different call got the same derived id")
	}
	if p, s := parse("page", `{"userId":"u1","name":"Home","sentAt":"2026-01-02T03:04:05Z"}`), parse("screen", `{"userId":"u1","name":"Home","sentAt":"2026-01-02T03:04:05Z"}`); p == s {
		t.Error("the same body on two endpoints got the same derived id")
	}
	// Without a messageId or any client timestamp, identical calls are not
	// taken for retries: each gets its own id.
	x, y := parse("track", `{"userId":"u1","event":"Page Liked"}`), parse("track", `{"userId":"u1","event":"Page Liked"}`)
	if x == y || !strings.HasPrefix(x, "gen-") {
		t.Errorf("unstamped calls got ids %q and %q", x, y)
	}
}

func TestSegmentTimestampRules(t *testing.T) {
	tests := []struct {
		name, body string
		want       time.Time
	}{
		{"timestamp and sentAt: corrected", `{"timestamp":"2026-03-01T09:00:00Z","sentAt":"2026-03-01T10:00:00Z"}`, segmentReceivedAt.Add(-time.Hour)},
		{"timestamp only", `{"timestamp":"2026-03-01T09:00:00+02:00"}`, at(t, "2026-03-01T07:00:00Z")},
		{"originalTimestamp and sentAt", `{"originalTimestamp":"2026-03-01T09:00:00Z","sentAt":"2026-03-01T09:00:01Z"}`, segmentReceivedAt.Add(-time.Second)},
		{"sentAt only", `{"sentAt":"2026-03-01T09:00:01Z"}`, segmentReceivedAt},
		{"none", `{}`, segmentReceivedAt},
		{"no zone is UTC", `{"timestamp":"2026-03-01T09:00:00.5"}`, at(t, "2026-03-01T09:00:00.5Z")},
		{"offset without colon", `{"timestamp":"2026-03-01T09:00:00.000+0100"}`, at(t, "2026-03-01T08:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"userId":"u","event":"E",` + strings.TrimPrefix(tt.body, "{")
			body = strings.Replace(body, `"E",}`, `"E"}`, 1)
			m, err := ParseCall("track", []byte(body), segmentReceivedAt)
			wantError(t, err, "")
			if !m.Timestamp.Equal(tt.want) {
				t.Errorf("Timestamp = %v, want %v", m.Timestamp, tt.want)
			}
		})
	}
}

func TestParseCallMalformed(t *testing.T) {
	long := strings.Repeat("x", maxIDLength+1)
	tests := []struct {
		name, kind, body string
		key              string
		fragments        []string
	}{
		{"not JSON", "track", `{"userId":`, "invalid_json", nil},
		{"not an object", "track", `["track"]`, "invalid_payload", []string{"call must be an object, not array"}},
		{"userId a bool", "track", `{"userId":true,"event":"E"}`, "invalid_payload", []string{"userId must be a string or an integer"}},
		{"userId a fraction", "track", `{"userId":1.5,"event":"E"}`, "invalid_payload", []string{"userId"}},
		{"event a number", "track", `{"userId":"u","event":5}`, "invalid_payload", []string{"event must be a string"}},
		{"traits a string", "identify", `{"userId":"u","traits":"vip"}`, "invalid_payload", []string{"traits must be an object"}},
		{"bad timestamp", "track", `{"userId":"u","event":"E","timestamp":"yesterday"}`, "invalid_payload", []string{"timestamp must be an ISO-8601 date-time", "yesterday"}},
		{"no identity", "identify", `{"traits":{"email":"a@b.c"}}`, "invalid_payload", []string{"identify call needs userId or anonymousId"}},
		{"empty identity", "track", `{"userId":"","anonymousId":null,"event":"E"}`, "invalid_payload", []string{"userId or anonymousId"}},
		{"track without event", "track", `{"userId":"u"}`, "invalid_payload", []string{"track call needs event"}},
		{"track with blank event", "track", `{"userId":"u","event":"  "}`, "invalid_payload", []string{"track call needs event"}},
		{"alias without previousId", "alias", `{"userId":"u"}`, "invalid_payload", []string{"alias call needs previousId"}},
		{"alias with only anonymousId", "alias", `{"anonymousId":"a","previousId":"p"}`, "invalid_payload", []string{"alias call needs userId"}},
		{"group without groupId", "group", `{"userId":"u"}`, "invalid_payload", []string{"group call needs groupId"}},
		{"type disagrees", "identify", `{"type":"track","userId":"u","event":"E"}`, "invalid_payload", []string{`type "track" does not match the identify endpoint`}},
		{"unknown kind", "purchase", `{"userId":"u"}`, "invalid_payload", []string{`"purchase" is not one of`}},
		{"userId too long", "track", `{"userId":"` + long + `","event":"E"}`, "invalid_payload", []string{"userId is longer than 512"}},
		{"messageId too long", "track", `{"userId":"u","event":"E","messageId":"` + long + `"}`, "invalid_payload", []string{"messageId"}},
		{"too large", "track", `{"userId":"u","event":"E","properties":{"p":"` + strings.Repeat("a", MaxCallBytes) + `"}}`, "payload_too_large", []string{"32768"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCall(tt.kind, []byte(tt.body), segmentReceivedAt)
			wantError(t, err, tt.key, tt.fragments...)
			if m.Type != "" {
				t.Errorf("got a message with an error: %+v", m)
			}
		})
	}
}

func TestParseBatchMalformed(t *testing.T) {
	valid := `{"type":"identify","userId":"u","traits":{}}`
	big := `{"type":"track","userId":"u","event":"E","properties":{"p":"` + strings.Repeat("a", MaxCallBytes) + `"}}`
	manyBig := `{"batch":[` + strings.Repeat(valid+",", MaxBatchBytes/len(valid)) + valid + `]}`
	tests := []struct {
		name, body string
		key        string
		fragments  []string
	}{
		{"not JSON", `{"batch":[`, "invalid_json", nil},
		{"no batch", `{"context":{}}`, "invalid_payload", []string{"batch is required"}},
		{"batch not an array", `{"batch":{"type":"track"}}`, "invalid_payload", []string{"batch must be an array"}},
		{"one invalid call", `{"batch":[` + valid + `,` + valid + `,{"type":"track","userId":"u"}]}`, "invalid_payload", []string{"batch[2]: track call needs event"}},
		{"call without type", `{"batch":[{"userId":"u"}]}`, "invalid_payload", []string{"batch[0]: type is required"}},
		{"call of unknown type", `{"batch":[{"type":"purchase","userId":"u"}]}`, "invalid_payload", []string{`batch[0]: type "purchase"`}},
		{"call of wrong shape", `{"batch":["track"]}`, "invalid_payload", []string{"batch[0]: call must be an object"}},
		{"field of wrong type", `{"batch":[` + valid + `,{"type":"track","userId":"u","event":"E","properties":[]}]}`, "invalid_payload", []string{"batch[1]: properties must be an object"}},
		{"call too large", `{"batch":[` + valid + `,` + big + `]}`, "payload_too_large", []string{"batch[1]"}},
		{"batch too large", manyBig, "payload_too_large", []string{"512000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := ParseBatch([]byte(tt.body), segmentReceivedAt)
			wantError(t, err, tt.key, tt.fragments...)
			if msgs != nil {
				t.Errorf("got %d messages with an error", len(msgs))
			}
		})
	}
}

func TestParseBatchEmpty(t *testing.T) {
	msgs, err := ParseBatch([]byte(`{"batch":[]}`), segmentReceivedAt)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("ParseBatch(empty) = %v, %v", msgs, err)
	}
}
