package dynamo

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/promorelay/promorelay/core"
)

func keyAttrs(k core.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

func n(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func encodeItem(it core.Item) map[string]types.AttributeValue {
	m := keyAttrs(it.Key)
	m[attrVersion] = n(it.Version)
	if len(it.Data) > 0 {
		m[attrData] = &types.AttributeValueMemberB{Value: it.Data}
	}
	if it.ExpiresAt != 0 {
		m[attrTTL] = n(it.ExpiresAt)
	}
	for name, v := range it.Nums {
		m[name] = n(v)
	}
	return m
}

func decodeItem(m map[string]types.AttributeValue) (core.Item, error) {
	var it core.Item
	for name, av := range m {
		var err error
		switch name {
		case attrPK:
			it.PK, err = str(av)
		case attrSK:
			it.SK, err = str(av)
		case attrVersion:
			it.Version, err = num(av)
		case attrTTL:
			it.ExpiresAt, err = num(av)
		case attrData:
			b, ok := av.(*types.AttributeValueMemberB)
			if !ok {
				err = fmt.Errorf("attribute d is %T, want binary", av)
			} else if len(b.Value) > 0 {
				it.Data = b.Value
			}
		default:
			var v int64
			if v, err = num(av); err == nil {
				if it.Nums == nil {
					it.Nums = map[string]int64{}
				}
				it.Nums[name] = v
			}
		}
		if err != nil {
			return core.Item{}, fmt.Errorf("dynamo: decode attribute %s: %w", name, err)
		}
	}
	return it, nil
}

func str(av types.AttributeValue) (string, error) {
	s, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("%T, want string", av)
	}
	return s.Value, nil
}

func num(av types.AttributeValue) (int64, error) {
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("%T, want number", av)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}
