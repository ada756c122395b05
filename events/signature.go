package events

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/promorelay/promorelay/core"
)

// hmacScheme is a vendor's "HMAC of the raw body in one header" signature.
type hmacScheme struct {
	header string // the header's name, for messages
	hash   func() hash.Hash
	decode func(string) ([]byte, error)
}

var (
	segmentScheme = hmacScheme{"X-Signature", sha1.New, hex.DecodeString}
	shopifyScheme = hmacScheme{"X-Shopify-Hmac-Sha256", sha256.New, base64.StdEncoding.DecodeString}
	wooScheme     = hmacScheme{"X-WC-Webhook-Signature", sha256.New, base64.StdEncoding.DecodeString}
)

// verify checks that header holds the HMAC of body keyed with secret,
// comparing in constant time.
func (s hmacScheme) verify(secret string, body []byte, header string) error {
	if secret == "" {
		return errNoSecret()
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return invalidSignature("the %s header is missing", s.header)
	}
	got, err := s.decode(header)
	if err != nil {
		return invalidSignature("the %s header is not a well-formed signature", s.header)
	}
	if !hmac.Equal(got, s.sum(secret, body)) {
		return invalidSignature("the %s header does not match the body", s.header)
	}
	return nil
}

func (s hmacScheme) sum(secret string, body []byte) []byte {
	m := hmac.New(s.hash, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// errNoSecret is a configuration error: verifying without a secret must
// fail closed, and the client is not at fault.
func errNoSecret() error {
	return core.Errorf(core.CodeInternal, "no signing secret is configured")
}

func invalidSignature(format string, args ...any) *core.Error {
	return core.KeyedError(core.CodeUnauthorized, "invalid_signature", format, args...)
}
