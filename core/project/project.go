// Package project keeps projects and their API keys. Every other item in the
// store lives under its project's prefix (Prefix), so a key of one project
// can neither read nor change another's data.
package project

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Project is one isolated tenant.
type Project struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Settings  Settings  `json:"settings"`
}

// Settings are a project's switches.
type Settings struct {
	// ClientRedeem lets client-side keys redeem (not only validate).
	ClientRedeem bool `json:"client_redeem"`
	// AllowedOrigins are the browser origins client-side keys may be used
	// from; empty allows none (server-to-server calls send no Origin).
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
}

// Kind is the access level of a key.
type Kind string

// Key kinds: server-side keys have full access; client-side keys only
// validate, redeem when allowed, qualify and publish.
const (
	Server Kind = "server"
	Client Kind = "client"
	// Segment is a Segment write key: it only sends tracking calls.
	Segment Kind = "segment"
)

// Keys are a newly created set of credentials. Tokens are shown once: the
// store keeps only their SHA-256.
type Keys struct {
	Project     string `json:"project"`
	ProjectID   string `json:"project_id"`
	AppID       string `json:"app_id"`
	AppToken    string `json:"app_token"`
	ClientAppID string `json:"client_app_id"`
	ClientToken string `json:"client_token"`
	// SegmentWriteKey authenticates Segment libraries sending to
	// /v1/batch and friends (HTTP Basic, key as user, empty password).
	SegmentWriteKey string `json:"segment_write_key"`
	// The inbound secrets (created once per project, shown with every new
	// set of keys).
	SegmentSharedSecret string `json:"segment_shared_secret"`
	WooCommerceSecret   string `json:"woocommerce_secret"`
	WebhookSecret       string `json:"webhook_secret"`
	CreatedAtUTC        string `json:"created_at"`
}

// Principal is who an authenticated request acts for.
type Principal struct {
	ProjectID string
	Kind      Kind
	Settings  Settings
}

// Prefix is the partition-key prefix of everything the project owns.
func Prefix(projectID string) string { return projectID }

// Service manages projects and keys.
type Service struct {
	Store core.Store
	Clock core.Clock
	IDs   *core.IDs
}

type keyRecord struct {
	ProjectID string `json:"project_id"`
	Kind      Kind   `json:"kind"`
	TokenHash string `json:"token_hash"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$`)

func projectKey(id string) core.Key      { return core.Key{PK: "project#" + id, SK: "project"} }
func projectNameKey(n string) core.Key   { return core.Key{PK: "projectname#" + n, SK: "name"} }
func apiKey(appID string) core.Key       { return core.Key{PK: "apikey#" + appID, SK: "key"} }
func projectsListKey(id string) core.Key { return core.Key{PK: "projects", SK: id} }

// CreateKeys creates a new pair of server and client keys for the project
// named name, creating the project first when it does not exist.
func (s *Service) CreateKeys(ctx context.Context, name string) (Keys, error) {
	if !validName.MatchString(name) {
		return Keys{}, core.Errorf(core.CodeInvalid, "project name %q: use 1-100 letters, digits, spaces, '_', '.', '-'", name)
	}
	p, err := s.ensureProject(ctx, name)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{
		Project: p.Name, ProjectID: p.ID,
		AppID: s.IDs.New("app"), AppToken: secret(),
		ClientAppID: s.IDs.New("capp"), ClientToken: secret(),
		CreatedAtUTC: s.Clock.Now().UTC().Format(time.RFC3339),
	}
	server, _ := json.Marshal(keyRecord{ProjectID: p.ID, Kind: Server, TokenHash: hash(k.AppToken)})
	client, _ := json.Marshal(keyRecord{ProjectID: p.ID, Kind: Client, TokenHash: hash(k.ClientToken)})
	err = s.Store.Write(ctx,
		core.Put(core.Item{Key: apiKey(k.AppID), Version: 1, Data: server}, core.IfNotExists()),
		core.Put(core.Item{Key: apiKey(k.ClientAppID), Version: 1, Data: client}, core.IfNotExists()))
	if err != nil {
		return Keys{}, fmt.Errorf("store keys: %w", err)
	}
	wk, sec, err := s.inboundKeys(ctx, p.ID)
	if err != nil {
		return Keys{}, err
	}
	k.SegmentWriteKey, k.SegmentSharedSecret, k.WooCommerceSecret, k.WebhookSecret = wk, sec.SegmentSharedSecret, sec.WooCommerceSecret, sec.WebhookSecret
	return k, nil
}

func (s *Service) ensureProject(ctx context.Context, name string) (Project, error) {
	for range 3 {
		it, err := s.Store.Get(ctx, projectNameKey(name))
		if err == nil {
			return s.Get(ctx, string(it.Data))
		}
		if !errors.Is(err, core.ErrNotFound) {
			return Project{}, err
		}
		p := Project{ID: s.IDs.New("proj"), Name: name, CreatedAt: s.Clock.Now().UTC()}
		data, _ := json.Marshal(p)
		err = s.Store.Write(ctx,
			core.Put(core.Item{Key: projectNameKey(name), Version: 1, Data: []byte(p.ID)}, core.IfNotExists()),
			core.Put(core.Item{Key: projectKey(p.ID), Version: 1, Data: data}, core.IfNotExists()),
			core.Put(core.Item{Key: projectsListKey(p.ID), Version: 1, Data: []byte(name)}))
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) {
			return Project{}, err
		}
		// Created concurrently under the same name: read it.
	}
	return Project{}, core.Errorf(core.CodeConflict, "project %q is being created concurrently", name)
}

// Get returns the project with id.
func (s *Service) Get(ctx context.Context, id string) (Project, error) {
	it, err := s.Store.Get(ctx, projectKey(id))
	if err != nil {
		return Project{}, err
	}
	var p Project
	return p, json.Unmarshal(it.Data, &p)
}

// UpdateSettings replaces the project's settings.
func (s *Service) UpdateSettings(ctx context.Context, id string, set Settings) (Project, error) {
	it, err := s.Store.Get(ctx, projectKey(id))
	if err != nil {
		return Project{}, err
	}
	var p Project
	if err := json.Unmarshal(it.Data, &p); err != nil {
		return Project{}, err
	}
	p.Settings = set
	data, _ := json.Marshal(p)
	err = s.Store.Write(ctx, core.Put(core.Item{Key: it.Key, Version: it.Version + 1, Data: data}, core.IfVersion(it.Version)))
	return p, err
}

// Authenticate checks an app id and token of the expected kind. Any failure
// is the same unauthorized error, so callers learn nothing about which part
// was wrong.
func (s *Service) Authenticate(ctx context.Context, appID, token string, kinds ...Kind) (Principal, error) {
	denied := core.Errorf(core.CodeUnauthorized, "missing or invalid credentials")
	if appID == "" || token == "" || len(appID) > 100 || len(token) > 200 {
		return Principal{}, denied
	}
	it, err := s.Store.Get(ctx, apiKey(appID))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return Principal{}, denied
	}
	if err != nil {
		return Principal{}, err
	}
	var rec keyRecord
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.TokenHash), []byte(hash(token))) != 1 || !slices.Contains(kinds, rec.Kind) {
		return Principal{}, denied
	}
	p, err := s.Get(ctx, rec.ProjectID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{ProjectID: rec.ProjectID, Kind: rec.Kind, Settings: p.Settings}, nil
}

func secret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ByName returns the project named name.
func (s *Service) ByName(ctx context.Context, name string) (Project, error) {
	it, err := s.Store.Get(ctx, projectNameKey(name))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return Project{}, core.Errorf(core.CodeNotFound, "cannot find project %q", name)
	}
	if err != nil {
		return Project{}, err
	}
	return s.Get(ctx, string(it.Data))
}

// List returns every project, oldest first.
func (s *Service) List(ctx context.Context) ([]Project, error) {
	var out []Project
	err := core.Each(ctx, s.Store, core.Query{PK: "projects", Limit: core.MaxPageLimit}, func(it core.Item) error {
		p, err := s.Get(ctx, it.SK)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
