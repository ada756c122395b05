package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/promorelay/promorelay/core"
)

// MaxWebhookBytes bounds a shop webhook body (Shopify, WooCommerce, the
// generic order webhook). Shopify's largest orders stay well below it; a
// body over it is refused before parsing.
const MaxWebhookBytes = 4 << 20

// maxIDLength is the longest id (userId, messageId, order id, …) accepted.
const maxIDLength = 512

// decodeBody unmarshals a JSON body into v. A syntax error becomes
// invalid_json; a value of the wrong type becomes invalid_payload with a
// message naming the field ("line_items.quantity must be an integer, not
// string").
func decodeBody(body []byte, v any) error { return decodeJSON(body, v, "body") }

// decodeJSON is decodeBody for a value called root in messages.
func decodeJSON(body []byte, v any, root string) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = root
		}
		return invalidPayload("%s must be %s, not %s", field, describeType(te.Type), te.Value)
	}
	return core.KeyedError(core.CodeInvalid, "invalid_json", "%s is not valid JSON: %s", root, strings.TrimPrefix(err.Error(), "json: "))
}

// describeType names what a JSON value of type t must look like.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another JSON type"
	}
	switch t {
	case reflect.TypeFor[flexID]():
		return "a string or an integer"
	case reflect.TypeFor[decimalText]():
		return "a decimal string or a number"
	case reflect.TypeFor[isoTime]():
		return "an ISO-8601 date-time"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "another JSON type"
}

func invalidPayload(format string, args ...any) *core.Error {
	return core.KeyedError(core.CodeInvalid, "invalid_payload", format, args...)
}

func tooLarge(what string, size, limit int) *core.Error {
	return core.KeyedError(core.CodePayloadTooLarge, "payload_too_large",
		"%s is %d bytes; the limit is %d", what, size, limit)
}

func missingHeader(name string) *core.Error {
	return core.KeyedError(core.CodeInvalid, "missing_header", "the %s header is missing", name)
}

func unsupportedTopic(source, topic string) *core.Error {
	return core.KeyedError(core.CodeInvalid, "unsupported_topic", "%s topic %q is not supported", source, topic)
}

// prefixed returns err with prefix before its client message, keeping its
// code and key: "batch[3]: track call needs event".
func prefixed(prefix string, err error) error {
	var e *core.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return &core.Error{Code: e.Code, Key: e.Key, Message: prefix + ": " + e.Message, Err: e.Err}
}

// typeError reports a JSON value of the wrong shape for a custom type, so
// decodeBody can name the field it was found in.
func typeError(raw []byte, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: describeValue(raw), Type: t}
}

// describeValue names a raw JSON value for an error message, quoting short
// strings so the client sees what it sent.
func describeValue(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil && len(s) <= 64 {
			return fmt.Sprintf("%q", s)
		}
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	if len(raw) <= 32 {
		return "number " + string(raw)
	}
	return "number"
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// flexID is an identifier sent as a JSON string or integer (Shopify's and
// WooCommerce's numeric ids, a Segment library's numeric userId); null is
// the empty id. Numbers keep their exact digits.
type flexID string

func (id *flexID) UnmarshalJSON(raw []byte) error {
	switch {
	case isNull(raw):
		*id = ""
		return nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return typeError(raw, reflect.TypeFor[flexID]())
		}
		*id = flexID(s)
		return nil
	case isIntegerLiteral(raw):
		*id = flexID(raw)
		return nil
	}
	return typeError(raw, reflect.TypeFor[flexID]())
}

func isIntegerLiteral(raw []byte) bool {
	s := strings.TrimPrefix(string(raw), "-")
	return s != "" && allDigits(s)
}

// decimalText is a money amount as the sender wrote it: a decimal string
// ("19.99") or a JSON number (19.99), kept as text so no float touches it.
// null is the empty amount.
type decimalText string

func (d *decimalText) UnmarshalJSON(raw []byte) error {
	switch {
	case isNull(raw):
		*d = ""
		return nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return typeError(raw, reflect.TypeFor[decimalText]())
		}
		*d = decimalText(s)
		return nil
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		*d = decimalText(raw)
		return nil
	}
	return typeError(raw, reflect.TypeFor[decimalText]())
}

// isoTime is an ISO-8601 date-time. null and "" are the zero time. A time
// without a zone ("2017-03-22T16:28:02", WooCommerce's *_gmt fields) is UTC.
type isoTime struct{ time.Time }

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700", // offset without a colon (Java, .NET)
	"2006-01-02T15:04:05.999999999",      // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func (t *isoTime) UnmarshalJSON(raw []byte) error {
	if isNull(raw) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return typeError(raw, reflect.TypeFor[isoTime]())
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, ok := parseISOTime(s)
	if !ok {
		return typeError(raw, reflect.TypeFor[isoTime]())
	}
	t.Time = parsed
	return nil
}

func parseISOTime(s string) (time.Time, bool) {
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// firstTime returns the first non-zero time.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// checkID refuses an id longer than maxIDLength.
func checkID(field string, id string) error {
	if utf8.RuneCountInString(id) > maxIDLength {
		return invalidPayload("%s is longer than %d characters", field, maxIDLength)
	}
	return nil
}

// normalEmail lowercases and trims an email address.
func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
