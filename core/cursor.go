package core

import (
	"encoding/base64"
	"unicode/utf8"
)

// EncodeCursor turns the sort key of the last item of a page into an opaque
// cursor. Both engines use it, so cursors look the same on either.
func EncodeCursor(sk string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sk))
}

// DecodeCursor returns the sort key a cursor carries, or an ErrInvalid error.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", Errorf(CodeInvalid, "bad cursor")
	}
	return string(b), nil
}
