package audience

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// recentPerEvent is how many latest occurrences of each event a customer's
// counter item keeps for the activity timeline; appliedPerEvent how many
// of the latest message ids it remembers (see plainWrites).
const (
	recentPerEvent  = 3
	appliedPerEvent = 16
)

// eventItem is one event name's counters for one customer, with its latest
// occurrences (the timeline's events) and short digests of the latest
// messages counted.
type eventItem struct {
	customer.EventStats
	Recent  []occurrence `json:"recent,omitempty"`
	Applied []string     `json:"applied,omitempty"`
}

// messageDigest is a 72-bit digest of a message's dedupe key: enough to
// tell the last few messages of one customer's event apart.
func messageDigest(source, id string) string {
	sum := sha256.Sum256([]byte(source + ":" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

func (e *eventItem) counted(digest string) bool { return slices.Contains(e.Applied, digest) }

type occurrence struct {
	At         time.Time      `json:"at"`
	Type       string         `json:"type"` // track, page, screen
	MessageID  string         `json:"message_id,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// maxRecentProps bounds the properties kept with an occurrence (in JSON
// bytes), so counter items stay near one DynamoDB write unit.
const maxRecentProps = 256

// applyParallel bounds how many customers' messages of one call are
// applied at once.
const applyParallel = 8

// Apply applies a call's messages, each exactly once (by source and
// message id). Messages naming the same identity are applied in their
// order; different customers' messages are applied concurrently, so a
// batch costs about as long as its longest run of one customer's
// messages. On failure it returns the first error: other messages may
// have been applied, and a retry of the whole call skips them.
func (s *Service) Apply(ctx context.Context, p string, msgs []customer.Message) ([]Outcome, error) {
	out := make([]Outcome, len(msgs))
	groups := map[string][]int{}
	var order []string
	for i, m := range msgs {
		k := firstNonEmpty(m.CustomerID, m.UserID, m.AnonymousID, m.PreviousID)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	errs := make([]error, len(msgs))
	sem := make(chan struct{}, applyParallel)
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer func() { <-sem; wg.Done() }()
			if err := s.applyGroup(ctx, p, msgs, idx, out); err != nil {
				errs[idx[0]] = err
			}
		}(groups[k])
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if len(msgs) > 1 {
				return out, fmt.Errorf("message %d (%s): %w", i, msgs[i].MessageID, err)
			}
			return out, err
		}
	}
	s.maybeFlushSchema(ctx)
	return out, nil
}

// applyGroup applies the messages msgs[idx] of one identity, in order. A
// single message takes ApplyMessage's path; several are applied in one
// unit (one transaction, one commit) when they fit one, else one by one.
func (s *Service) applyGroup(ctx context.Context, p string, msgs []customer.Message, idx []int, out []Outcome) error {
	if len(idx) > 1 {
		err := s.applyTogether(ctx, p, msgs, idx, out)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != core.CodeInvalid || ce.Key != keyTooLarge {
			return err
		}
	}
	for _, i := range idx {
		o, err := s.ApplyMessage(ctx, p, msgs[i])
		if err != nil {
			return fmt.Errorf("message %d (%s): %w", i, msgs[i].MessageID, err)
		}
		out[i] = o
	}
	return nil
}

// keyTooLarge marks a unit that does not fit one transaction.
const keyTooLarge = "transaction_too_large"

// applyTogether applies several messages of one identity in one unit:
// each not seen before is applied in order and marked seen, all in one
// transaction.
func (s *Service) applyTogether(ctx context.Context, p string, msgs []customer.Message, idx []int, out []Outcome) error {
	for _, i := range idx {
		if err := checkMessage(msgs[i]); err != nil {
			return fmt.Errorf("message %d (%s): %w", i, msgs[i].MessageID, err)
		}
		if msgs[i].Timestamp.IsZero() {
			msgs[i].Timestamp = s.now()
		}
	}
	first := msgs[idx[0]]
	unlock := s.lock(p + "#" + firstNonEmpty(first.CustomerID, first.UserID, first.AnonymousID, first.PreviousID))
	defer unlock()
	var applied []int
	u, err := s.run(ctx, func() (*unit, error) {
		applied = applied[:0]
		u, err := s.newUnit(ctx, p)
		if err != nil {
			return nil, err
		}
		seen, err := s.seenAll(ctx, p, msgs, idx)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			m := msgs[i]
			if key := seenKey(p, m.Source, m.MessageID); u.seenIDs[key] || seen[key] {
				continue // applied before, or twice in the same call
			}
			if err := u.message(m); err != nil {
				return nil, fmt.Errorf("message %d (%s): %w", i, m.MessageID, err)
			}
			applied = append(applied, i)
			out[i] = Outcome{CustomerID: u.out.CustomerID}
		}
		if len(applied) == 0 {
			return nil, nil
		}
		return u, nil
	})
	if err != nil {
		return err
	}
	for _, i := range idx {
		if !slices.Contains(applied, i) {
			out[i] = Outcome{Duplicate: true}
		}
	}
	if n := len(applied); n > 0 {
		last := applied[n-1]
		out[last].Entered, out[last].Left = u.out.Entered, u.out.Left
		for _, i := range applied {
			s.schema.observe(p, msgs[i])
		}
	}
	return nil
}

// seenAll reads the dedupe records of msgs[idx] in batches.
func (s *Service) seenAll(ctx context.Context, p string, msgs []customer.Message, idx []int) (map[core.Key]bool, error) {
	keys := make([]core.Key, 0, len(idx))
	dup := map[core.Key]bool{}
	for _, i := range idx {
		if k := seenKey(p, msgs[i].Source, msgs[i].MessageID); msgs[i].MessageID != "" && !dup[k] {
			dup[k] = true
			keys = append(keys, k)
		}
	}
	seen := map[core.Key]bool{}
	for len(keys) > 0 {
		n := min(len(keys), core.MaxBatchGet)
		got, err := s.Store.BatchGet(ctx, keys[:n])
		if err != nil {
			return nil, err
		}
		for k := range got {
			seen[k] = true
		}
		keys = keys[n:]
	}
	return seen, nil
}

// ApplyMessage applies one message exactly once.
func (s *Service) ApplyMessage(ctx context.Context, p string, m customer.Message) (Outcome, error) {
	if err := checkMessage(m); err != nil {
		return Outcome{}, err
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = s.now()
	}
	identity := firstNonEmpty(m.CustomerID, m.UserID, m.AnonymousID, m.PreviousID)
	u, dup, err := s.once(ctx, p, identity, m.Source, m.MessageID, func(u *unit) error { return u.message(m) })
	if err != nil || dup {
		return Outcome{Duplicate: dup}, err
	}
	s.schema.observe(p, m)
	return u.out, nil
}

var errDuplicate = errors.New("duplicate")

func checkMessage(m customer.Message) error {
	switch {
	case m.Source == "":
		return core.Errorf(core.CodeInvalid, "message without a source")
	case m.UserID == "" && m.AnonymousID == "" && m.CustomerID == "":
		return core.KeyedError(core.CodeInvalid, "invalid_payload", "a call needs userId or anonymousId")
	case m.Type == "track" && m.Event == "":
		return core.KeyedError(core.CodeInvalid, "invalid_payload", "a track call needs event")
	case m.Type == "alias" && (m.UserID == "" || m.PreviousID == ""):
		return core.KeyedError(core.CodeInvalid, "invalid_payload", "an alias call needs userId and previousId")
	}
	switch m.Type {
	case "identify", "track", "page", "screen", "group", "alias":
		return nil
	}
	return core.KeyedError(core.CodeInvalid, "invalid_payload", "unknown call type %q", m.Type)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// message builds the unit applying m.
func (u *unit) message(m customer.Message) error {
	if m.Type == "alias" {
		return u.alias(m)
	}
	name := eventName(m)
	var c *custState
	var err error
	if m.CustomerID != "" {
		c, err = u.load(m.CustomerID, name)
	} else {
		c, err = u.resolve(m.UserID, m.AnonymousID, m.Email, name)
	}
	if err != nil {
		return err
	}
	u.out.CustomerID = c.prof.ID
	u.markSeen(m.Source, m.MessageID, c.prof.ID)
	if len(m.Traits) > 0 && (m.Type == "identify" || m.Type == "group") {
		traits := m.Traits
		if m.Type == "group" {
			traits = map[string]any{"group_id": m.GroupID}
			for k, v := range m.Traits {
				traits["group."+k] = v
			}
		}
		u.setTraits(c, traits, m.Timestamp)
	} else if m.Type == "group" {
		u.setTraits(c, map[string]any{"group_id": m.GroupID}, m.Timestamp)
	}
	u.setConsents(c, m.Consents, m.Timestamp)
	if name != "" {
		if !c.events[name].stats.counted(messageDigest(m.Source, m.MessageID)) {
			u.count(c, name, m)
		}
	} else {
		c.tl = append(c.tl, timelineEntry{Type: "customer." + m.Type, At: m.Timestamp, MessageID: m.MessageID,
			Data: map[string]any{"traits": m.Traits}})
	}
	return nil
}

// eventName is the counted event of a call: a track call's event, page and
// screen calls as Segment's destinations name them; identify and group
// count nothing.
func eventName(m customer.Message) string {
	switch m.Type {
	case "track":
		return m.Event
	case "page":
		if m.Name != "" {
			return "Viewed " + m.Name + " Page"
		}
		return "Loaded a Page"
	case "screen":
		if m.Name != "" {
			return "Viewed " + m.Name + " Screen"
		}
		return "Viewed Screen"
	}
	return ""
}

// count adds one occurrence of event name to c's counters.
func (u *unit) count(c *custState, name string, m customer.Message) {
	e := c.events[name]
	st := &e.stats
	st.Name = name
	st.Total++
	if st.First.IsZero() || m.Timestamp.Before(st.First) {
		st.First = m.Timestamp
	}
	if m.Timestamp.After(st.Last) {
		st.Last = m.Timestamp
	}
	if st.Days == nil {
		st.Days = map[string]int64{}
	}
	// A call older than the kept window still counts in Total, not by day.
	if oldest := customer.DayKey(u.now.AddDate(0, 0, -customer.EventDays)); customer.DayKey(m.Timestamp) > oldest {
		st.Days[customer.DayKey(m.Timestamp)]++
		for d := range st.Days {
			if d <= oldest {
				delete(st.Days, d)
			}
		}
	}
	if m.MessageID != "" {
		e.stats.Applied = append(e.stats.Applied, messageDigest(m.Source, m.MessageID))
		if n := len(e.stats.Applied); n > appliedPerEvent {
			e.stats.Applied = e.stats.Applied[n-appliedPerEvent:]
		}
	}
	oc := occurrence{At: m.Timestamp, Type: m.Type, MessageID: m.MessageID}
	if props := m.Properties; len(props) > 0 && jsonSize(props) <= maxRecentProps {
		oc.Properties = props
	}
	st2 := append(e.stats.Recent, oc)
	slices.SortStableFunc(st2, func(a, b occurrence) int { return b.At.Compare(a.At) })
	e.stats.Recent = st2[:min(len(st2), recentPerEvent)]
	e.dirty = true
}

// setTraits applies traits stated at ts, each only when newer than the
// value the profile holds (so late deliveries change nothing), and maps
// Segment's reserved traits onto the profile's fields.
func (u *unit) setTraits(c *custState, traits map[string]any, ts time.Time) {
	for k, v := range traits {
		if k == "" {
			continue
		}
		if at, ok := c.prof.TraitTimes[k]; ok && at.After(ts) {
			continue
		}
		if c.prof.Traits == nil {
			c.prof.Traits = map[string]any{}
			c.prof.TraitTimes = map[string]time.Time{}
		}
		c.prof.Traits[k] = v
		c.prof.TraitTimes[k] = ts
		c.dirty = true
	}
	tr := c.prof.Traits
	str := func(k string) string { s, _ := tr[k].(string); return s }
	if v := str("email"); v != "" {
		c.prof.Email = strings.ToLower(strings.TrimSpace(v))
	}
	if v := str("phone"); v != "" {
		c.prof.Phone = v
	}
	if v := str("name"); v != "" {
		c.prof.Name = v
	} else if n := strings.TrimSpace(str("firstName") + " " + str("lastName")); n != "" {
		c.prof.Name = n
	} else if n := strings.TrimSpace(str("first_name") + " " + str("last_name")); n != "" {
		c.prof.Name = n
	}
	if v := str("description"); v != "" {
		c.prof.Description = v
	}
	if v := str("birthday"); len(v) >= 10 {
		c.prof.Birthdate = v[:10]
	}
	if a, ok := tr["address"].(map[string]any); ok {
		s := func(k string) string { v, _ := a[k].(string); return v }
		c.prof.Address = &customer.Address{City: s("city"), State: s("state"), Line1: s("street"),
			Country: s("country"), PostalCode: firstNonEmpty(s("postalCode"), s("postal_code"))}
	}
}

// setConsents records stated consents newer than the ones held.
func (u *unit) setConsents(c *custState, consents map[string]bool, ts time.Time) {
	for k, v := range consents {
		if cur, ok := c.prof.Consents[k]; ok && cur.At.After(ts) {
			continue
		}
		if c.prof.Consents == nil {
			c.prof.Consents = map[string]customer.Consent{}
		}
		if cur, ok := c.prof.Consents[k]; ok && cur.Granted == v {
			continue
		}
		c.prof.Consents[k] = customer.Consent{Granted: v, At: ts}
		c.dirty = true
	}
}

// resolve finds (or creates) the customer a call names, linking the
// identities it brings, and merging an anonymous profile into the
// identified one when an identify call connects them.
func (u *unit) resolve(userID, anonID, email string, events ...string) (*custState, error) {
	byUser, err := u.identity(customer.IdentitySource, userID)
	if err != nil {
		return nil, err
	}
	byAnon, err := u.identity(customer.IdentityAnonymous, anonID)
	if err != nil {
		return nil, err
	}
	var c *custState
	switch {
	case byUser != "":
		if c, err = u.load(byUser, events...); err != nil {
			return nil, err
		}
		if byAnon != "" && byAnon != c.prof.ID {
			if err := u.merge(byAnon, c); err != nil {
				return nil, err
			}
		}
	case byAnon != "":
		if c, err = u.load(byAnon, events...); err != nil {
			return nil, err
		}
		if userID != "" {
			u.addIdentity(c, customer.IdentitySource, userID, true)
		}
	default:
		// A new userId may belong to a customer known by email (a guest
		// order, a shop's customer webhook): attach it there.
		if byEmail, err := u.identity(customer.IdentityEmail, email); err != nil {
			return nil, err
		} else if byEmail != "" && userID != "" {
			if c, err = u.load(byEmail, events...); err != nil {
				return nil, err
			}
			u.addIdentity(c, customer.IdentitySource, userID, true)
		} else {
			c = u.create(userID)
			if err := u.loadEvents(c, events...); err != nil {
				return nil, err
			}
			if userID != "" {
				u.addIdentity(c, customer.IdentitySource, userID, false)
			}
		}
	}
	if anonID != "" && byAnon == "" {
		u.addIdentity(c, customer.IdentityAnonymous, anonID, true)
	}
	if email != "" {
		byEmail, err := u.identity(customer.IdentityEmail, email)
		if err != nil {
			return nil, err
		}
		if byEmail == "" {
			u.addIdentity(c, customer.IdentityEmail, email, true)
		}
	}
	return c, nil
}

// identity returns the customer id an identity maps to ("" when none).
func (s *Service) identity(ctx context.Context, p, kind, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	it, err := s.Store.Get(ctx, customer.IdentityKey(p, kind, value))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(it.Data), nil
}

// addIdentity maps an identity to c (conditional on it being free, so two
// racing calls cannot give one identity to two customers).
func (u *unit) addIdentity(c *custState, kind, value string, setSource bool) {
	for _, op := range u.ops {
		if op.Target() == customer.IdentityKey(u.p, kind, value) {
			return
		}
	}
	u.ops = append(u.ops, core.Put(core.Item{Key: customer.IdentityKey(u.p, kind, value), Version: 1, Data: []byte(c.prof.ID)}, core.IfNotExists()))
	u.mapIdentity(customer.IdentityKey(u.p, kind, value), c.prof.ID)
	switch kind {
	case customer.IdentityAnonymous:
		if !slices.Contains(c.prof.AnonymousIDs, value) {
			c.prof.AnonymousIDs = append(c.prof.AnonymousIDs, value)
			c.dirty = true
		}
	case customer.IdentitySource:
		if setSource && c.prof.SourceID == "" {
			c.prof.SourceID = value
			c.dirty = true
		}
	case customer.IdentityEmail:
		if c.prof.Email == "" {
			c.prof.Email = value
			c.dirty = true
		}
	}
}

// alias merges the profile known as previousId into the one known as
// userId (creating or renaming as needed).
func (u *unit) alias(m customer.Message) error {
	prev, err := u.identity(customer.IdentitySource, m.PreviousID)
	if err != nil {
		return err
	}
	if prev == "" {
		if prev, err = u.identity(customer.IdentityAnonymous, m.PreviousID); err != nil {
			return err
		}
	}
	target, err := u.identity(customer.IdentitySource, m.UserID)
	if err != nil {
		return err
	}
	var c *custState
	switch {
	case target != "":
		if c, err = u.load(target); err != nil {
			return err
		}
		if prev != "" && prev != c.prof.ID {
			if err := u.merge(prev, c); err != nil {
				return err
			}
		} else if prev == "" {
			u.addIdentity(c, customer.IdentityAnonymous, m.PreviousID, false)
		}
	case prev != "":
		if c, err = u.load(prev); err != nil {
			return err
		}
		u.addIdentity(c, customer.IdentitySource, m.UserID, false)
		c.prof.SourceID = m.UserID
		c.dirty = true
	default:
		c = u.create(m.UserID)
		if err := u.loadEvents(c); err != nil {
			return err
		}
		u.addIdentity(c, customer.IdentitySource, m.UserID, false)
		u.addIdentity(c, customer.IdentityAnonymous, m.PreviousID, false)
	}
	u.out.CustomerID = c.prof.ID
	u.markSeen(m.Source, m.MessageID, c.prof.ID)
	return nil
}
