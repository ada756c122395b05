package events

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

// Segment's HTTP Tracking API limits, which promorelay's tracking endpoint
// copies so a client that works against Segment works here: a single call
// (or one call inside a batch) is at most 32 KB, a batch at most 500 KB.
const (
	MaxCallBytes  = 32 << 10
	MaxBatchBytes = 500 << 10
)

// SourceSegment is the Message.Source the Segment parsers set. Callers that
// take Segment-shaped calls on another path (promorelay's own tracking
// endpoint) overwrite it.
const SourceSegment = "segment"

var callTypes = map[string]bool{
	"identify": true, "track": true, "page": true, "screen": true, "group": true, "alias": true,
}

// segmentCall is one call of Segment's spec, as much of it as promorelay
// reads; integrations and unknown fields are ignored.
type segmentCall struct {
	Type              string         `json:"type"`
	MessageID         flexID         `json:"messageId"`
	UserID            flexID         `json:"userId"`
	AnonymousID       flexID         `json:"anonymousId"`
	PreviousID        flexID         `json:"previousId"`
	GroupID           flexID         `json:"groupId"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	Traits            map[string]any `json:"traits"`
	Properties        map[string]any `json:"properties"`
	Context           map[string]any `json:"context"`
	Timestamp         isoTime        `json:"timestamp"`
	OriginalTimestamp isoTime        `json:"originalTimestamp"`
	SentAt            isoTime        `json:"sentAt"`
}

// segmentBatch is the body of /v1/batch.
type segmentBatch struct {
	Batch   []json.RawMessage `json:"batch"`
	Context map[string]any    `json:"context"`
	SentAt  isoTime           `json:"sentAt"`
}

// callEnv is what a call inherits from the request that carried it.
type callEnv struct {
	receivedAt time.Time
	sentAt     time.Time      // the batch's sentAt
	context    map[string]any // the batch's context, under the call's own
	// corrected says timestamps were already corrected for clock skew:
	// Segment's destinations forward calls Segment has processed.
	corrected bool
}

// ParseCall parses one call sent to /v1/<kind> (identify, track, page,
// screen, group or alias). A "type" in the body must agree with kind.
//
// receivedAt is when promorelay received the request: it becomes the
// message's ReceivedAt, corrects the call's timestamp for the client's
// clock skew (timestamp + receivedAt − sentAt, Segment's rule) and is the
// timestamp of a call that has none. A call without a messageId but with
// a client timestamp gets an id derived from its bytes ("derived-<sha256>"),
// so a retried identical call still deduplicates; one with neither gets a
// fresh random id ("gen-…"), as Segment's own API does: two such calls
// cannot be told from a retry, and collapsing them would lose real events.
//
// Errors are *core.Error with code CodeInvalid — key "invalid_json" for a
// body that is not JSON, "invalid_payload" for one that breaks the spec (the
// message names the field) — or CodePayloadTooLarge, key
// "payload_too_large", for a body over MaxCallBytes.
func ParseCall(kind string, body []byte, receivedAt time.Time) (customer.Message, error) {
	if len(body) > MaxCallBytes {
		return customer.Message{}, tooLarge("the call", len(body), MaxCallBytes)
	}
	if !callTypes[kind] {
		return customer.Message{}, invalidPayload("call type %q is not one of identify, track, page, screen, group or alias", kind)
	}
	return parseCall(kind, body, callEnv{receivedAt: receivedAt})
}

// ParseBatch parses the body of /v1/batch: {"batch": [calls…], "context":
// {…}, "sentAt": …}. The batch's context is merged under each call's own
// (the call's values win) and its sentAt applies to calls without one.
//
// A batch is all or nothing: if any call is invalid, ParseBatch returns no
// messages and one error whose message starts with the call's index
// ("batch[3]: track call needs event"). Errors are those of ParseCall; the
// size limits are MaxBatchBytes for the body and MaxCallBytes for each call.
// An empty batch returns no messages and no error.
func ParseBatch(body []byte, receivedAt time.Time) ([]customer.Message, error) {
	if len(body) > MaxBatchBytes {
		return nil, tooLarge("the batch", len(body), MaxBatchBytes)
	}
	var b segmentBatch
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	if b.Batch == nil {
		return nil, invalidPayload("batch is required: an array of calls")
	}
	return parseCalls(b.Batch, callEnv{receivedAt: receivedAt, sentAt: b.SentAt.Time, context: b.Context})
}

// ParseDestination parses what Segment's Webhooks destinations post: one
// call object, a {"batch": [...]} object, or a JSON array of calls (the
// Actions destination's batching). Every call must carry its "type".
// Segment has already corrected these calls' timestamps for clock skew, so
// they are taken as sent. Verify the request first with
// VerifySegmentSignature. Errors as ParseBatch.
func ParseDestination(body []byte, receivedAt time.Time) ([]customer.Message, error) {
	if len(body) > MaxBatchBytes {
		return nil, tooLarge("the body", len(body), MaxBatchBytes)
	}
	env := callEnv{receivedAt: receivedAt, corrected: true}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		var calls []json.RawMessage
		if err := decodeBody(body, &calls); err != nil {
			return nil, err
		}
		return parseCalls(calls, env)
	}
	var b segmentBatch
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	if b.Batch != nil {
		env.context, env.sentAt = b.Context, b.SentAt.Time
		return parseCalls(b.Batch, env)
	}
	if len(body) > MaxCallBytes {
		return nil, tooLarge("the call", len(body), MaxCallBytes)
	}
	m, err := parseCall("", body, env)
	if err != nil {
		return nil, err
	}
	return []customer.Message{m}, nil
}

// VerifySegmentSignature checks the X-Signature header Segment's Webhooks
// destinations send when a shared secret is set: the hex-encoded HMAC-SHA1
// of the raw request body keyed with the secret. Pass the body exactly as
// received, before any parsing.
//
// A missing, malformed or wrong signature returns a *core.Error with code
// CodeUnauthorized and key "invalid_signature"; an empty secret returns
// CodeInternal (a configuration error, never a pass).
func VerifySegmentSignature(secret string, body []byte, header string) error {
	return segmentScheme.verify(secret, body, header)
}

func parseCalls(raws []json.RawMessage, env callEnv) ([]customer.Message, error) {
	msgs := make([]customer.Message, 0, len(raws))
	for i, raw := range raws {
		at := fmt.Sprintf("batch[%d]", i)
		if len(raw) > MaxCallBytes {
			return nil, prefixed(at, tooLarge("the call", len(raw), MaxCallBytes))
		}
		m, err := parseCall("", raw, env)
		if err != nil {
			return nil, prefixed(at, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// parseCall parses one call; kind is the endpoint's type, or "" when the
// call must name its own.
func parseCall(kind string, raw []byte, env callEnv) (customer.Message, error) {
	var c segmentCall
	if err := decodeJSON(raw, &c, "call"); err != nil {
		return customer.Message{}, err
	}
	typ, err := callType(kind, c.Type)
	if err != nil {
		return customer.Message{}, err
	}
	if err := c.validate(typ); err != nil {
		return customer.Message{}, err
	}
	return c.message(typ, raw, env), nil
}

func callType(kind, bodyType string) (string, error) {
	switch {
	case kind != "" && bodyType != "" && bodyType != kind:
		return "", invalidPayload("type %q does not match the %s endpoint", bodyType, kind)
	case kind != "":
		return kind, nil
	case bodyType == "":
		return "", invalidPayload("type is required")
	case !callTypes[bodyType]:
		return "", invalidPayload("type %q is not one of identify, track, page, screen, group or alias", bodyType)
	}
	return bodyType, nil
}

// validate applies Segment's rules for a call of type typ.
func (c *segmentCall) validate(typ string) error {
	for _, id := range []struct {
		field string
		value flexID
	}{
		{"messageId", c.MessageID}, {"userId", c.UserID}, {"anonymousId", c.AnonymousID},
		{"previousId", c.PreviousID}, {"groupId", c.GroupID},
	} {
		if err := checkID(id.field, string(id.value)); err != nil {
			return err
		}
	}
	switch {
	case typ == "alias" && c.UserID == "":
		return invalidPayload("alias call needs userId")
	case typ == "alias" && c.PreviousID == "":
		return invalidPayload("alias call needs previousId")
	case c.UserID == "" && c.AnonymousID == "":
		return invalidPayload("%s call needs userId or anonymousId", typ)
	case typ == "group" && c.GroupID == "":
		return invalidPayload("group call needs groupId")
	case typ == "track" && strings.TrimSpace(c.Event) == "":
		return invalidPayload("track call needs event")
	}
	return nil
}

// message normalises a valid call. Traits are the call's traits for
// identify and group, and context.traits (the user's traits as the
// client knows them) for the other types; email and consents come from the
// user's traits.
func (c *segmentCall) message(typ string, raw []byte, env callEnv) customer.Message {
	ctx := mergeUnder(env.context, c.Context)
	ctxTraits, _ := ctx["traits"].(map[string]any)
	userTraits, traits := ctxTraits, ctxTraits
	if typ == "identify" {
		userTraits, traits = c.Traits, c.Traits
	}
	if typ == "group" {
		traits = c.Traits
	}
	m := customer.Message{
		Source:      SourceSegment,
		MessageID:   c.messageID(typ, raw),
		Type:        typ,
		UserID:      string(c.UserID),
		AnonymousID: string(c.AnonymousID),
		PreviousID:  string(c.PreviousID),
		GroupID:     string(c.GroupID),
		Email:       firstEmail(userTraits, ctxTraits),
		Traits:      traits,
		Properties:  c.Properties,
		Consents:    segmentConsents(ctx, userTraits),
		Timestamp:   c.timestamp(env),
		ReceivedAt:  env.receivedAt.UTC(),
	}
	switch typ {
	case "track":
		m.Event = c.Event
	case "page", "screen":
		m.Name = c.Name
	}
	return m
}

// messageID is the call's messageId; else, when the client stamped the
// call, one derived from its type and compacted bytes so an identical retry
// gets the same id; else a random one.
func (c *segmentCall) messageID(typ string, raw []byte) string {
	if c.MessageID != "" {
		return string(c.MessageID)
	}
	if c.Timestamp.IsZero() && c.OriginalTimestamp.IsZero() && c.SentAt.IsZero() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return "gen-" + hex.EncodeToString(b[:])
	}
	var buf bytes.Buffer
	buf.WriteString(typ)
	buf.WriteByte('\n')
	if json.Compact(&buf, raw) != nil {
		buf.Write(raw)
	}
	sum := sha256.Sum256(buf.Bytes())
	return "derived-" + hex.EncodeToString(sum[:])
}

// timestamp applies Segment's rule: the call's timestamp (or, without one,
// its originalTimestamp) moved by receivedAt − sentAt when the client said
// when it sent the call; receivedAt when the call states no time.
func (c *segmentCall) timestamp(env callEnv) time.Time {
	t := firstTime(c.Timestamp.Time, c.OriginalTimestamp.Time)
	if t.IsZero() {
		return env.receivedAt.UTC()
	}
	sentAt := firstTime(c.SentAt.Time, env.sentAt)
	if !env.corrected && !sentAt.IsZero() {
		t = t.Add(env.receivedAt.Sub(sentAt))
	}
	return t.UTC()
}

// firstEmail returns the first traits' "email" string, normalised.
func firstEmail(traits ...map[string]any) string {
	for _, t := range traits {
		if s, ok := t["email"].(string); ok && strings.TrimSpace(s) != "" {
			return normalEmail(s)
		}
	}
	return ""
}

// segmentConsents reads the consents a call states, later sources winning:
// context.consent.categoryPreferences (Segment's Consent Management), then
// traits.consents, then the traits email_opt_in and sms_opt_in. Values
// that are not booleans are ignored. nil when the call states none.
func segmentConsents(ctx, traits map[string]any) map[string]bool {
	out := map[string]bool{}
	consent, _ := ctx["consent"].(map[string]any)
	prefs, _ := consent["categoryPreferences"].(map[string]any)
	addBools(out, prefs)
	stated, _ := traits["consents"].(map[string]any)
	addBools(out, stated)
	for trait, channel := range map[string]string{"email_opt_in": "email", "sms_opt_in": "sms"} {
		if b, ok := traits[trait].(bool); ok {
			out[channel] = b
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func addBools(out map[string]bool, m map[string]any) {
	for k, v := range m {
		if b, ok := v.(bool); ok {
			out[strings.ToLower(k)] = b
		}
	}
}

// mergeUnder returns a deep copy of base with over merged on top: over's
// values win, and objects present in both are merged the same way. The
// result shares nothing with base, so calls of one batch never share maps.
func mergeUnder(base, over map[string]any) map[string]any {
	if base == nil {
		return over
	}
	out := cloneValue(base).(map[string]any)
	for k, v := range over {
		bm, baseIsMap := out[k].(map[string]any)
		om, overIsMap := v.(map[string]any)
		if baseIsMap && overIsMap {
			out[k] = mergeUnder(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

// cloneValue deep-copies decoded JSON.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
