package embedded

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/promorelay/promorelay/core"
)

// Items live in one bucket under itemKey(pk, sk) = uvarint(len(pk)) pk sk, so
// that the items of one partition are contiguous and ordered by sort key bytes
// (DynamoDB orders string sort keys by their UTF-8 bytes too), and no pk can be
// a prefix of another's keys.

func partitionPrefix(pk string) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(pk)+2), uint64(len(pk)))
	return append(b, pk...)
}

func itemKey(k core.Key) []byte {
	return append(partitionPrefix(k.PK), k.SK...)
}

var errCorrupt = errors.New("embedded: corrupt record")

// A value is: version, expiresAt (varints), the count of numeric attributes,
// each as name length, name, value, then the payload to the end.
func encodeValue(it core.Item) []byte {
	b := make([]byte, 0, 24+len(it.Data)+16*len(it.Nums))
	b = binary.AppendVarint(b, it.Version)
	b = binary.AppendVarint(b, it.ExpiresAt)
	names := make([]string, 0, len(it.Nums))
	for n := range it.Nums {
		names = append(names, n)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = binary.AppendVarint(b, it.Nums[n])
	}
	return append(b, it.Data...)
}

func decodeValue(key core.Key, b []byte) (core.Item, error) {
	it := core.Item{Key: key}
	var w int
	if it.Version, w = binary.Varint(b); w <= 0 {
		return it, errCorrupt
	}
	b = b[w:]
	if it.ExpiresAt, w = binary.Varint(b); w <= 0 {
		return it, errCorrupt
	}
	b = b[w:]
	count, w := binary.Uvarint(b)
	if w <= 0 {
		return it, errCorrupt
	}
	b = b[w:]
	if count > 0 {
		it.Nums = make(map[string]int64, count)
	}
	for range count {
		l, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < l {
			return it, errCorrupt
		}
		name := string(b[w : w+int(l)])
		b = b[w+int(l):]
		v, w2 := binary.Varint(b)
		if w2 <= 0 {
			return it, errCorrupt
		}
		b = b[w2:]
		it.Nums[name] = v
	}
	if len(b) > 0 {
		// bbolt's memory is only valid inside the transaction: copy out.
		it.Data = append([]byte(nil), b...)
	}
	return it, nil
}

// ttlKey indexes an item by its expiry so the sweeper finds expired items
// without scanning: big-endian seconds, then the item key.
func ttlKey(expiresAt int64, k core.Key) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(k.PK)+len(k.SK)+2), uint64(expiresAt))
	return append(b, itemKey(k)...)
}

// successor returns the smallest byte string greater than every string that
// has b as a prefix. UTF-8 never contains 0xff, so incrementing the last byte works.
func successor(b []byte) []byte {
	out := append([]byte(nil), b...)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] < 0xff {
			out[i]++
			return out[:i+1]
		}
	}
	return nil // no successor: the end of the keyspace
}
