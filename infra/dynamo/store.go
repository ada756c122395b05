// Package dynamo implements core.Store on one DynamoDB table.
//
// Table layout (single table, on-demand capacity):
//
//	pk  (S, partition key)  the partition: what the domain queries together
//	sk  (S, sort key)       the item within its partition
//	v   (N)                 version for optimistic writes
//	d   (B)                 the payload (domain JSON), absent when empty
//	ttl (N)                 Unix seconds; the table's TTL attribute
//	<name> (N)              each numeric attribute (counters, balances)
//
// No global secondary index: every secondary access path is an item of its
// own, written in the same transaction as the item it points to. That keeps
// lookups strongly consistent (a GSI is not) and the write cost visible.
// The table has a stream (NEW_IMAGE) for the outbox relay.
//
// Expired items linger until DynamoDB deletes them (within days), so every
// read filters them and every condition treats them as absent.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/oklog/ulid/v2"

	"github.com/promorelay/promorelay/core"
)

// Config configures the DynamoDB engine.
type Config struct {
	// Table is the table name. Required.
	Table string
	// Region is the AWS region; default from the environment, else us-east-1.
	Region string
	// Endpoint overrides the service endpoint (DynamoDB Local). When it is a
	// loopback address, static dummy credentials are used and response
	// checksum validation is off (DynamoDB Local's checksums make the SDK warn).
	Endpoint string
	// CreateTable creates the table (on demand, TTL on, stream on) when it is
	// missing. For local development and tests; production tables come from
	// template.yaml.
	CreateTable bool
	// Clock decides which items have expired. Default: the system clock.
	Clock core.Clock
	// KeepExpired leaves DynamoDB's own deletion of expired items off on a
	// table CreateTable creates. For tests whose Clock is not the wall
	// clock: DynamoDB (and DynamoDB Local) deletes items by the wall clock,
	// at times of its choosing, which would remove items still live on
	// Clock. The store hides expired items by Clock either way.
	KeepExpired bool
	// MaxAttempts bounds the attempts of one request on throttling and on
	// transaction conflicts. Default 10.
	MaxAttempts int
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("dynamo: table name is required"))
	} else if len(c.Table) < 3 || len(c.Table) > 255 {
		errs = append(errs, errors.New("dynamo: table name must be 3 to 255 characters"))
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("dynamo: endpoint %q is not a URL", c.Endpoint))
		}
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("dynamo: MaxAttempts must not be negative"))
	}
	return errors.Join(errs...)
}

// Store is the DynamoDB engine. Create it with New.
type Store struct {
	db       *dynamodb.Client
	table    *string
	clock    core.Clock
	attempts int
	usage    usage
}

var _ core.Store = (*Store)(nil)

// New connects to DynamoDB (creating the table when cfg.CreateTable says so).
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	var loadOpts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(cfg.Region))
	}
	local := isLoopback(cfg.Endpoint)
	if local {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	loadOpts = append(loadOpts, config.WithRetryer(func() aws.Retryer {
		// No client-side retry quota: under contention the quota runs dry and
		// turns throttling into hard failures. Backoff with jitter is enough.
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = cfg.MaxAttempts
			o.MaxBackoff = 2 * time.Second
			o.RateLimiter = ratelimit.None
		})
	}))
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if local {
			o.DisableValidateResponseChecksum = true
		}
	})
	s := &Store{db: client, table: aws.String(cfg.Table), clock: cfg.Clock, attempts: cfg.MaxAttempts}
	if cfg.CreateTable {
		if err := s.ensureTable(ctx, !cfg.KeepExpired); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func isLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// ensureTable creates the table if it does not exist and waits until it is
// active; nativeTTL turns DynamoDB's deletion of expired items on.
func (s *Store) ensureTable(ctx context.Context, nativeTTL bool) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: s.table})
	var nf *types.ResourceNotFoundException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &nf):
		return fmt.Errorf("dynamo: describe table %s: %w", *s.table, err)
	}
	_, err = s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   s.table,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamo: create table %s: %w", *s.table, err)
	}
	w := dynamodb.NewTableExistsWaiter(s.db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: s.table}, time.Minute); err != nil {
		return fmt.Errorf("dynamo: wait for table %s: %w", *s.table, err)
	}
	if !nativeTTL {
		return nil
	}
	_, err = s.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               s.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamo: enable TTL on %s: %w", *s.table, err)
	}
	return nil
}

// Close implements core.Store. The SDK client holds no resources that need closing.
func (s *Store) Close() error { return nil }

// Client returns the SDK client, for the table's stream and admin tasks.
func (s *Store) Client() *dynamodb.Client { return s.db }

// Table returns the table name.
func (s *Store) Table() string { return *s.table }

func (s *Store) now() int64 { return s.clock.Now().Unix() }

func (s *Store) expired(it core.Item) bool { return core.Expired(it.ExpiresAt, s.clock.Now()) }

// Get implements core.Store.
func (s *Store) Get(ctx context.Context, key core.Key) (core.Item, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.Item{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              s.table,
		Key:                    keyAttrs(key),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return core.Item{}, mapErr("get", err)
	}
	s.usage.add("get", out.ConsumedCapacity)
	if out.Item == nil {
		return core.Item{}, core.Errorf(core.CodeNotFound, "item %s not found", key)
	}
	it, err := decodeItem(out.Item)
	if err != nil {
		return core.Item{}, err
	}
	if s.expired(it) {
		return core.Item{}, core.Errorf(core.CodeNotFound, "item %s not found", key)
	}
	return it, nil
}

// BatchGet implements core.Store.
func (s *Store) BatchGet(ctx context.Context, keys []core.Key) (map[core.Key]core.Item, error) {
	if err := core.ValidateKeys(keys); err != nil {
		return nil, err
	}
	out := make(map[core.Key]core.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pending := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		pending[i] = keyAttrs(k)
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt >= s.attempts {
			return nil, core.Errorf(core.CodeThrottled, "batch get: %d keys left unprocessed", len(pending))
		}
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return nil, err
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems:           map[string]types.KeysAndAttributes{*s.table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, mapErr("batch get", err)
		}
		for _, c := range res.ConsumedCapacity {
			s.usage.add("batch_get", &c)
		}
		for _, m := range res.Responses[*s.table] {
			it, err := decodeItem(m)
			if err != nil {
				return nil, err
			}
			if !s.expired(it) {
				out[it.Key] = it
			}
		}
		pending = res.UnprocessedKeys[*s.table].Keys
	}
	return out, nil
}

// Query implements core.Store. DynamoDB applies Limit before the filter that
// hides expired items, so it keeps reading until the page is full or the
// partition is exhausted; it reads one item past the page to know whether a
// next page exists, so Next is empty exactly when nothing follows.
func (s *Store) Query(ctx context.Context, q core.Query) (core.Page, error) {
	if err := q.Validate(); err != nil {
		return core.Page{}, err
	}
	e := newExprs(s.now())
	kc := e.name(attrPK) + " = " + e.str(q.PK)
	switch {
	case q.Prefix != "":
		kc += " AND begins_with(" + e.name(attrSK) + ", " + e.str(q.Prefix) + ")"
	case q.From != "" && q.To != "":
		kc += " AND " + e.name(attrSK) + " BETWEEN " + e.str(q.From) + " AND " + e.str(q.To)
	case q.From != "":
		kc += " AND " + e.name(attrSK) + " >= " + e.str(q.From)
	case q.To != "":
		kc += " AND " + e.name(attrSK) + " <= " + e.str(q.To)
	}
	filter := e.notExpired()
	var start map[string]types.AttributeValue
	if q.Cursor != "" {
		after, _ := core.DecodeCursor(q.Cursor)
		start = keyAttrs(core.Key{PK: q.PK, SK: after})
	}
	limit := q.PageLimit()
	var items []core.Item
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			KeyConditionExpression:    aws.String(kc),
			FilterExpression:          aws.String(filter),
			ExpressionAttributeNames:  e.namesOrNil(),
			ExpressionAttributeValues: e.valuesOrNil(),
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(limit + 1 - len(items))),
			ScanIndexForward:          aws.Bool(!q.Reverse),
			ConsistentRead:            aws.Bool(true),
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return core.Page{}, mapErr("query", err)
		}
		s.usage.add("query", res.ConsumedCapacity)
		for _, m := range res.Items {
			it, err := decodeItem(m)
			if err != nil {
				return core.Page{}, err
			}
			items = append(items, it)
		}
		start = res.LastEvaluatedKey
		if len(items) > limit || start == nil {
			break
		}
	}
	var page core.Page
	if len(items) > limit {
		items = items[:limit]
		page.Next = core.EncodeCursor(items[limit-1].SK)
	}
	page.Items = items
	return page, nil
}

// Write implements core.Store. One operation uses the single-item API (half
// the write units of a transaction); more use TransactWriteItems.
func (s *Store) Write(ctx context.Context, ops ...core.Op) error {
	if err := core.ValidateWrite(ops); err != nil {
		return err
	}
	if len(ops) == 1 && ops[0].Kind != core.OpCheck {
		return s.writeOne(ctx, ops[0])
	}
	return s.transact(ctx, ops)
}

func (s *Store) writeOne(ctx context.Context, op core.Op) error {
	switch op.Kind {
	case core.OpUpdate:
		_, err := s.Update(ctx, op.Update)
		return err
	case core.OpPut:
		return s.retry(ctx, func() error {
			e := newExprs(s.now())
			c := e.condition(op.Conds)
			res, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                 s.table,
				Item:                      encodeItem(op.Item),
				ConditionExpression:       strOrNil(c),
				ExpressionAttributeNames:  e.namesOrNil(),
				ExpressionAttributeValues: e.valuesOrNil(),
				ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				return mapErr("put", err)
			}
			s.usage.add("put", res.ConsumedCapacity)
			return nil
		})
	case core.OpDelete:
		return s.retry(ctx, func() error {
			e := newExprs(s.now())
			c := e.condition(op.Conds)
			res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 s.table,
				Key:                       keyAttrs(op.Key),
				ConditionExpression:       strOrNil(c),
				ExpressionAttributeNames:  e.namesOrNil(),
				ExpressionAttributeValues: e.valuesOrNil(),
				ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				return mapErr("delete", err)
			}
			s.usage.add("delete", res.ConsumedCapacity)
			return nil
		})
	}
	return core.Errorf(core.CodeInvalid, "unknown operation kind %d", op.Kind)
}

// Update implements core.Store.
func (s *Store) Update(ctx context.Context, u core.Update) (core.Item, error) {
	if err := core.ValidateUpdate(u); err != nil {
		return core.Item{}, err
	}
	var out core.Item
	err := s.retry(ctx, func() error {
		e := newExprs(s.now())
		upd, cond := e.update(u)
		res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           s.table,
			Key:                                 keyAttrs(u.Key),
			UpdateExpression:                    aws.String(upd),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            e.namesOrNil(),
			ExpressionAttributeValues:           e.valuesOrNil(),
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) && s.expiredImage(ccf.Item) {
				if err := s.purge(ctx, u.Key); err != nil {
					return err
				}
				return errRetryNow
			}
			return mapErr("update", err)
		}
		s.usage.add("update", res.ConsumedCapacity)
		out, err = decodeItem(res.Attributes)
		return err
	})
	return out, err
}

// transact runs ops as one TransactWriteItems call.
func (s *Store) transact(ctx context.Context, ops []core.Op) error {
	return s.retry(ctx, func() error {
		items := make([]types.TransactWriteItem, len(ops))
		for i, op := range ops {
			items[i] = s.transactItem(op)
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: items,
			// Makes the SDK's own retries of this call idempotent.
			ClientRequestToken:     aws.String(ulid.Make().String()),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			// DynamoDB Local reports a flat 4 WCU for any transaction, so
			// the units are counted here by DynamoDB's billing rule from
			// the items sent (see TransactWriteUnits).
			s.usage.addWrite("transact", TransactWriteUnits(ops))
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return mapErr("transact", err)
		}
		return s.canceled(ctx, ops, tce)
	})
}

// canceled turns a cancelled transaction into the port's error. When an
// update failed only because its item had expired (and lingers), the item is
// purged and the transaction retried at once.
func (s *Store) canceled(ctx context.Context, ops []core.Op, tce *types.TransactionCanceledException) error {
	conflict, throttled := false, false
	firstFailed := -1
	for i, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			if ops[i].Kind == core.OpUpdate && s.expiredImage(r.Item) {
				if err := s.purge(ctx, ops[i].Target()); err != nil {
					return err
				}
				return errRetryNow
			}
			if firstFailed < 0 {
				firstFailed = i
			}
		case "TransactionConflict":
			conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			throttled = true
		case "ValidationError", "ItemCollectionSizeLimitExceeded":
			return fmt.Errorf("dynamo: transaction operation %d: %s: %w", i, aws.ToString(r.Message), tce)
		}
	}
	switch {
	case firstFailed >= 0:
		return core.ConditionFailed(firstFailed, tce)
	case conflict:
		return &core.Error{Code: core.CodeConflict, Message: "transaction conflict", Err: tce}
	case throttled:
		return &core.Error{Code: core.CodeThrottled, Message: "throttled", Err: tce}
	}
	return fmt.Errorf("dynamo: transaction canceled: %w", tce)
}

func (s *Store) transactItem(op core.Op) types.TransactWriteItem {
	e := newExprs(s.now())
	fail := types.ReturnValuesOnConditionCheckFailureAllOld
	switch op.Kind {
	case core.OpPut:
		c := e.condition(op.Conds)
		return types.TransactWriteItem{Put: &types.Put{
			TableName: s.table, Item: encodeItem(op.Item), ConditionExpression: strOrNil(c),
			ExpressionAttributeNames: e.namesOrNil(), ExpressionAttributeValues: e.valuesOrNil(),
			ReturnValuesOnConditionCheckFailure: fail,
		}}
	case core.OpUpdate:
		upd, c := e.update(op.Update)
		return types.TransactWriteItem{Update: &types.Update{
			TableName: s.table, Key: keyAttrs(op.Update.Key), UpdateExpression: aws.String(upd),
			ConditionExpression:      aws.String(c),
			ExpressionAttributeNames: e.namesOrNil(), ExpressionAttributeValues: e.valuesOrNil(),
			ReturnValuesOnConditionCheckFailure: fail,
		}}
	case core.OpDelete:
		c := e.condition(op.Conds)
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: s.table, Key: keyAttrs(op.Key), ConditionExpression: strOrNil(c),
			ExpressionAttributeNames: e.namesOrNil(), ExpressionAttributeValues: e.valuesOrNil(),
			ReturnValuesOnConditionCheckFailure: fail,
		}}
	}
	c := e.condition(op.Conds)
	if c == "" {
		c = "attribute_exists(" + e.name(attrPK) + ") OR attribute_not_exists(" + e.name(attrPK) + ")"
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: s.table, Key: keyAttrs(op.Key), ConditionExpression: aws.String(c),
		ExpressionAttributeNames: e.namesOrNil(), ExpressionAttributeValues: e.valuesOrNil(),
		ReturnValuesOnConditionCheckFailure: fail,
	}}
}

func (s *Store) expiredImage(m map[string]types.AttributeValue) bool {
	if len(m) == 0 {
		return false
	}
	it, err := decodeItem(m)
	return err == nil && s.expired(it)
}

// purge deletes an expired item that DynamoDB has not removed yet.
func (s *Store) purge(ctx context.Context, k core.Key) error {
	e := newExprs(s.now())
	t := e.name(attrTTL)
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       keyAttrs(k),
		ConditionExpression:       aws.String(t + " <= " + e.nowValue()),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) { // someone renewed it meanwhile: fine
		return mapErr("purge expired", err)
	}
	return nil
}

var errRetryNow = errors.New("retry now")

// retry runs fn again on transaction conflicts (with jittered backoff) and
// after purging an expired item (at once). The SDK already retried throttling.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < s.attempts; attempt++ {
		err = fn()
		switch {
		case errors.Is(err, errRetryNow):
			continue
		case errors.Is(err, core.ErrConflict):
			if serr := sleep(ctx, attempt+1); serr != nil {
				return serr
			}
			continue
		}
		return err
	}
	if errors.Is(err, errRetryNow) {
		return core.Errorf(core.CodeConflict, "expired item kept coming back")
	}
	return err
}

// sleep waits a jittered exponential backoff: up to 10ms·2^attempt, capped at 1s.
func sleep(ctx context.Context, attempt int) error {
	return core.Backoff(ctx, attempt, 10*time.Millisecond, time.Second)
}

// mapErr maps SDK errors to the port's errors; context errors stay matchable.
func mapErr(op string, err error) error {
	var (
		ccf      *types.ConditionalCheckFailedException
		conflict *types.TransactionConflictException
		pte      *types.ProvisionedThroughputExceededException
		rle      *types.RequestLimitExceeded
		rnf      *types.ResourceNotFoundException
		api      smithy.APIError
	)
	switch {
	case errors.As(err, &ccf):
		return core.ConditionFailed(0, err)
	case errors.As(err, &conflict):
		return &core.Error{Code: core.CodeConflict, Message: "transaction conflict", Err: err}
	case errors.As(err, &pte), errors.As(err, &rle):
		return &core.Error{Code: core.CodeThrottled, Message: "throttled", Err: err}
	case errors.As(err, &rnf):
		return &core.Error{Code: core.CodeUnavailable, Message: "table not found", Err: err}
	case errors.As(err, &api) && strings.Contains(api.ErrorCode(), "Throttl"):
		return &core.Error{Code: core.CodeThrottled, Message: "throttled", Err: err}
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}

// Usage is the capacity one kind of operation consumed, as DynamoDB reported it.
type Usage struct {
	Calls int64
	Read  float64 // read capacity units
	Write float64 // write capacity units
}

type usage struct {
	mu sync.Mutex
	by map[string]Usage
}

func (u *usage) add(kind string, c *types.ConsumedCapacity) {
	var read, write float64
	if c != nil {
		read, write = aws.ToFloat64(c.ReadCapacityUnits), aws.ToFloat64(c.WriteCapacityUnits)
		if c.ReadCapacityUnits == nil && c.WriteCapacityUnits == nil {
			// Some responses report only the total; attribute it by kind.
			if strings.Contains(kind, "get") || kind == "query" {
				read = aws.ToFloat64(c.CapacityUnits)
			} else {
				write = aws.ToFloat64(c.CapacityUnits)
			}
		}
	}
	u.record(kind, read, write)
}

// addWrite records a call whose write units were counted here.
func (u *usage) addWrite(kind string, units float64) { u.record(kind, 0, units) }

func (u *usage) record(kind string, read, write float64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.by == nil {
		u.by = map[string]Usage{}
	}
	x := u.by[kind]
	x.Calls++
	x.Read += read
	x.Write += write
	u.by[kind] = x
}

// TransactWriteUnits is what DynamoDB bills for a transaction of ops: two
// write units per started KB of each item. A put or update counts the item
// it writes (an update's numbers are counted when it sets or adds them); a
// delete or condition check does not send its item, so it is counted at
// the minimum of one KB, which undercounts items larger than that.
func TransactWriteUnits(ops []core.Op) float64 {
	var units float64
	for _, op := range ops {
		size := 0
		switch op.Kind {
		case core.OpPut:
			size = op.Item.Size()
		case core.OpUpdate:
			it := core.Item{Key: op.Update.Key, Data: op.Update.Data, Nums: op.Update.SetNums}
			for _, a := range op.Update.Adds {
				if it.Nums == nil {
					it.Nums = map[string]int64{}
				}
				it.Nums[a.Attr] = 0
			}
			size = it.Size()
		}
		units += 2 * float64(max(1, (size+1023)/1024))
	}
	return units
}

// Usage returns the capacity consumed per operation kind since New or the
// last ResetUsage: get, batch_get, query, put, update, delete, transact.
func (s *Store) Usage() map[string]Usage {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	out := make(map[string]Usage, len(s.usage.by))
	for k, v := range s.usage.by {
		out[k] = v
	}
	return out
}

// ResetUsage zeroes the counters.
func (s *Store) ResetUsage() {
	s.usage.mu.Lock()
	s.usage.by = nil
	s.usage.mu.Unlock()
}
