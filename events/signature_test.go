package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
)

// signatureVector is one entry of testdata/signatures.json.
type signatureVector struct {
	Name     string            `json:"name"`
	Scheme   string            `json:"scheme"`
	Secret   string            `json:"secret"`
	Body     *string           `json:"body"`
	BodyFile string            `json:"body_file"`
	Headers  map[string]string `json:"headers"`
}

func loadSignatureVectors(tb testing.TB) []signatureVector {
	tb.Helper()
	var file struct {
		Vectors []signatureVector `json:"vectors"`
	}
	if err := json.Unmarshal(mustFixture(tb, "signatures.json"), &file); err != nil {
		tb.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		tb.Fatal("no signature vectors")
	}
	return file.Vectors
}

func (v signatureVector) body(tb testing.TB) []byte {
	if v.Body != nil {
		return []byte(*v.Body)
	}
	return mustFixture(tb, v.BodyFile)
}

// schemeHeader is the header each HMAC-of-body scheme signs with.
var schemeHeader = map[string]string{
	"segment":     "X-Signature",
	"shopify":     "X-Shopify-Hmac-Sha256",
	"woocommerce": "X-WC-Webhook-Signature",
}

// verifyVector runs the scheme's verifier on a vector's parts.
func verifyVector(v signatureVector, secret string, body []byte, headers map[string]string) error {
	get := headerGetter(headers)
	switch v.Scheme {
	case "segment":
		return VerifySegmentSignature(secret, body, get("X-Signature"))
	case "shopify":
		return VerifyShopify(secret, body, get("X-Shopify-Hmac-Sha256"))
	case "woocommerce":
		return VerifyWooCommerce(secret, body, get("X-WC-Webhook-Signature"))
	case "standard":
		ts, _ := strconv.ParseInt(v.Headers["webhook-timestamp"], 10, 64)
		return VerifyStandardWebhook(secret, StandardHeadersFrom(get), body, time.Unix(ts, 0).Add(90*time.Second))
	}
	panic("unknown scheme " + v.Scheme)
}

// recompute signs a vector with this package's code, to compare with the
// independently produced header.
func recompute(tb testing.TB, v signatureVector, body []byte) (header, value string) {
	tb.Helper()
	switch v.Scheme {
	case "segment":
		return "X-Signature", hexString(segmentScheme.sum(v.Secret, body))
	case "shopify", "woocommerce":
		s := shopifyScheme
		if v.Scheme == "woocommerce" {
			s = wooScheme
		}
		return schemeHeader[v.Scheme], base64.StdEncoding.EncodeToString(s.sum(v.Secret, body))
	case "standard":
		ts, err := strconv.ParseInt(v.Headers["webhook-timestamp"], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		sig, err := SignStandardWebhook(v.Secret, v.Headers["webhook-id"], time.Unix(ts, 0), body)
		if err != nil {
			tb.Fatal(err)
		}
		return "webhook-signature", sig
	}
	tb.Fatalf("unknown scheme %q", v.Scheme)
	return "", ""
}

// wrongSecret returns another well-formed secret.
func wrongSecret(secret string) string {
	if strings.HasPrefix(secret, "whsec_") {
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key-entirely"))
	}
	return secret + "x"
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range loadSignatureVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			body := v.body(t)
			header, value := recompute(t, v, body)
			if value != v.Headers[header] {
				t.Errorf("recomputed %s = %q, golden %q", header, value, v.Headers[header])
			}
			wantError(t, verifyVector(v, v.Secret, body, v.Headers), "")

			tampered := bytes.Clone(body)
			tampered[len(tampered)/2] ^= 0x01
			wantError(t, verifyVector(v, v.Secret, tampered, v.Headers), "invalid_signature")
			wantError(t, verifyVector(v, wrongSecret(v.Secret), body, v.Headers), "invalid_signature")
			wantError(t, verifyVector(v, "", body, v.Headers), string(core.CodeInternal))

			for name := range v.Headers {
				without := map[string]string{}
				for k, val := range v.Headers {
					if k != name {
						without[k] = val
					}
				}
				wantKey := "invalid_signature"
				if name == "webhook-timestamp" {
					wantKey = "invalid_timestamp"
				}
				wantError(t, verifyVector(v, v.Secret, body, without), wantKey, name)
			}
		})
	}
}

func TestHMACSignatureMalformed(t *testing.T) {
	body := []byte(`{"type":"track"}`)
	tests := []struct {
		name   string
		verify func() error
		key    string
	}{
		{"segment not hex", func() error { return VerifySegmentSignature("s", body, "zz") }, "invalid_signature"},
		{"segment wrong length", func() error { return VerifySegmentSignature("s", body, "abcd") }, "invalid_signature"},
		{"segment upper-case hex", func() error {
			return VerifySegmentSignature("s", body, " "+string(bytes.ToUpper([]byte(hexString(segmentScheme.sum("s", body)))))+" ")
		}, ""},
		{"shopify not base64", func() error { return VerifyShopify("s", body, "%%%") }, "invalid_signature"},
		{"shopify hex instead of base64", func() error { return VerifyShopify("s", body, hexString(shopifyScheme.sum("s", body))) }, "invalid_signature"},
		{"woocommerce whitespace only", func() error { return VerifyWooCommerce("s", body, "   ") }, "invalid_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.verify(), tt.key) })
	}
}
