package project

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/promorelay/promorelay/core"
)

// Secrets are what a project's inbound paths verify calls with. HMAC
// signatures need the secret itself, so these are stored as they are (in
// the project's own item, never logged); the Segment write key, which only
// authenticates, is stored as its SHA-256 like the API tokens.
type Secrets struct {
	// SegmentSharedSecret signs calls from Segment's Webhooks destination
	// (X-Signature).
	SegmentSharedSecret string `json:"segment_shared_secret,omitempty"`
	// ShopifySecret is the shop's webhook signing secret (Shopify generates
	// it: set it with PUT /admin/v1/projects/{name}/secrets).
	ShopifySecret string `json:"shopify_secret,omitempty"`
	// WooCommerceSecret is the secret entered in WooCommerce's webhook form.
	WooCommerceSecret string `json:"woocommerce_secret,omitempty"`
	// WebhookSecret signs the generic order webhook (Standard Webhooks,
	// "whsec_…").
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func secretsKey(id string) core.Key   { return core.Key{PK: "project#" + id, SK: "secrets"} }
func writeKeyKey(key string) core.Key { return core.Key{PK: "writekey#" + hash(key), SK: "key"} }

// InboundSecrets returns the project's inbound secrets (empty ones are not
// configured: calls on that path are refused).
func (s *Service) InboundSecrets(ctx context.Context, projectID string) (Secrets, error) {
	it, err := s.Store.Get(ctx, secretsKey(projectID))
	if errors.Is(err, core.ErrNotFound) {
		return Secrets{}, nil
	}
	if err != nil {
		return Secrets{}, err
	}
	var sec Secrets
	return sec, json.Unmarshal(it.Data, &sec)
}

// SetSecrets replaces the non-empty secrets of set.
func (s *Service) SetSecrets(ctx context.Context, projectID string, set Secrets) error {
	for attempt := 0; ; attempt++ {
		it, err := s.Store.Get(ctx, secretsKey(projectID))
		cond := core.IfNotExists()
		var cur Secrets
		switch {
		case err == nil:
			if err := json.Unmarshal(it.Data, &cur); err != nil {
				return err
			}
			cond = core.IfVersion(it.Version)
		case !errors.Is(err, core.ErrNotFound):
			return err
		}
		for _, f := range []struct {
			dst *string
			v   string
		}{
			{&cur.SegmentSharedSecret, set.SegmentSharedSecret}, {&cur.ShopifySecret, set.ShopifySecret},
			{&cur.WooCommerceSecret, set.WooCommerceSecret}, {&cur.WebhookSecret, set.WebhookSecret},
		} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
		if s := cur.WebhookSecret; s != "" && !strings.HasPrefix(s, "whsec_") {
			return core.Errorf(core.CodeInvalid, "webhook_secret must look like whsec_<base64>")
		}
		data, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		err = s.Store.Write(ctx, core.Put(core.Item{Key: secretsKey(projectID), Version: it.Version + 1, Data: data}, cond))
		if err == nil || !errors.Is(err, core.ErrConditionFailed) || attempt > 10 {
			return err
		}
	}
}

// inboundKeys creates a Segment write key for the project and the inbound
// secrets it does not have yet, returning them all.
func (s *Service) inboundKeys(ctx context.Context, projectID string) (writeKey string, sec Secrets, err error) {
	writeKey = "wk_" + secret()
	data, _ := json.Marshal(keyRecord{ProjectID: projectID, Kind: Segment, TokenHash: hash(writeKey)})
	if err := s.Store.Write(ctx, core.Put(core.Item{Key: writeKeyKey(writeKey), Version: 1, Data: data}, core.IfNotExists())); err != nil {
		return "", sec, fmt.Errorf("store write key: %w", err)
	}
	cur, err := s.InboundSecrets(ctx, projectID)
	if err != nil {
		return "", sec, err
	}
	var add Secrets
	if cur.SegmentSharedSecret == "" {
		add.SegmentSharedSecret = secret()
	}
	if cur.WooCommerceSecret == "" {
		add.WooCommerceSecret = secret()
	}
	if cur.WebhookSecret == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		add.WebhookSecret = "whsec_" + base64.StdEncoding.EncodeToString(b[:])
	}
	if add != (Secrets{}) {
		if err := s.SetSecrets(ctx, projectID, add); err != nil {
			return "", sec, err
		}
	}
	sec, err = s.InboundSecrets(ctx, projectID)
	return writeKey, sec, err
}

// AuthenticateWriteKey returns the project of a Segment write key. Any
// failure is the same unauthorized error.
func (s *Service) AuthenticateWriteKey(ctx context.Context, key string) (Principal, error) {
	denied := core.Errorf(core.CodeUnauthorized, "missing or invalid write key")
	if key == "" || len(key) > 200 {
		return Principal{}, denied
	}
	it, err := s.Store.Get(ctx, writeKeyKey(key))
	if errors.Is(err, core.ErrNotFound) {
		return Principal{}, denied
	}
	if err != nil {
		return Principal{}, err
	}
	var rec keyRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return Principal{}, err
	}
	p, err := s.Get(ctx, rec.ProjectID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{ProjectID: rec.ProjectID, Kind: Segment, Settings: p.Settings}, nil
}
