package core

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error key. Clients branch on it; the HTTP
// adapter maps it to a status code in one table.
type Code string

// Error codes shared by every layer. Storage engines map their native failures
// to these (never by matching error text).
const (
	CodeInvalid           Code = "invalid"            // the request is malformed or violates a limit
	CodeNotFound          Code = "not_found"          // the item or resource does not exist
	CodeConditionFailed   Code = "condition_failed"   // a write's condition did not hold
	CodeConflict          Code = "conflict"           // a concurrent transaction touched the same items
	CodeThrottled         Code = "throttled"          // the engine refused for capacity; retry later
	CodeUnauthorized      Code = "unauthorized"       // missing or bad credentials
	CodeForbidden         Code = "forbidden"          // credentials valid, action not allowed
	CodeUnavailable       Code = "unavailable"        // a dependency is down or shutting down
	CodeInternal          Code = "internal"           // a bug or an unexpected failure
	CodePayloadTooLarge   Code = "payload_too_large"  // a body or item exceeds its size limit
	CodeIdempotencyReused Code = "idempotency_reused" // an idempotency key was reused with another request
)

// Error is the one error type that carries a Code. Message is safe to show to a
// client; it never contains secrets or internal details.
type Error struct {
	Code Code
	// Key, when set, is a more specific machine-readable key than Code that
	// clients see instead (Voucherify's keys such as "quantity_exceeded");
	// Code still decides the HTTP status.
	Key     string
	Message string
	// ResourceID and ResourceType name the object the error concerns, e.g.
	// the failed redemption a refused redeem call recorded.
	ResourceID   string
	ResourceType string
	// Err is the underlying cause, kept for logs and errors.Is; never shown to clients.
	Err error

	op       int // 1-based index of the failing operation of a transaction; 0 when not known
	sentinel bool
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and friends match any *Error with the
// same code, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel && t.Code == e.Code
}

func sentinel(c Code) *Error { return &Error{Code: c, sentinel: true} }

// Sentinels for errors.Is. They match every *Error of their code.
var (
	ErrInvalid         = sentinel(CodeInvalid)
	ErrNotFound        = sentinel(CodeNotFound)
	ErrConditionFailed = sentinel(CodeConditionFailed)
	ErrConflict        = sentinel(CodeConflict)
	ErrThrottled       = sentinel(CodeThrottled)
	ErrUnavailable     = sentinel(CodeUnavailable)
)

// Errorf returns an *Error with the given code and a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// KeyedError returns an *Error with a specific key for clients.
func KeyedError(code Code, key, format string, args ...any) *Error {
	return &Error{Code: code, Key: key, Message: fmt.Sprintf(format, args...)}
}

// ErrorKey returns the key clients see for err: the *Error's Key, else its code.
func ErrorKey(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Key != "" {
			return e.Key
		}
		return string(e.Code)
	}
	if err == nil {
		return ""
	}
	return string(CodeInternal)
}

// ConditionFailed returns the error of a write whose operation index (0-based;
// negative when not known) found its condition false.
func ConditionFailed(index int, cause error) *Error {
	e := &Error{Code: CodeConditionFailed, Message: "condition failed", Err: cause}
	if index >= 0 {
		e.op = index + 1
		e.Message = fmt.Sprintf("condition of operation %d failed", index)
	}
	return e
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err: the *Error's message, or
// "internal error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		if e.Message != "" {
			return e.Message
		}
		return string(e.Code)
	}
	return "internal error"
}

// FailedIndex returns the 0-based index of the operation whose condition failed
// in a transactional write, or -1 when err names none.
func FailedIndex(err error) int {
	var e *Error
	if errors.As(err, &e) && e.op > 0 {
		return e.op - 1
	}
	return -1
}
