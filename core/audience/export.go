package audience

import (
	"context"

	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/core/segment"
)

// OrderExport is the "order" source of exports: the fields of Voucherify's
// order export. promorelay's orders carry no discounts and no referrer, so
// discount_amount, items_discount_amount, total_discount_amount,
// total_amount and referrer_id are empty cells (and absent to filters).
// Orders are listed by creation (an order's id is made when it is created).
func (s *Service) OrderExport() export.Source {
	return export.Source{
		Fields: []string{"id", "source_id", "created_at", "updated_at", "status", "amount", "discount_amount",
			"items_discount_amount", "total_discount_amount", "total_amount", "customer_id", "referrer_id", "metadata"},
		DefaultFields: []string{"id", "source_id", "status"},
		Orders:        []string{"-created_at", "created_at"},
		Schema: segment.RecordSchema{
			Fields: map[string]segment.RecordKind{
				"id": segment.RecordString, "source_id": segment.RecordString, "status": segment.RecordString,
				"customer_id": segment.RecordString, "referrer_id": segment.RecordString,
				"created_at": segment.RecordTime, "updated_at": segment.RecordTime,
				"amount": segment.RecordNumber, "total_amount": segment.RecordNumber, "discount_amount": segment.RecordNumber,
				"total_discount_amount": segment.RecordNumber, "items_discount_amount": segment.RecordNumber,
			},
			Metadata: true, What: "export filter", Key: export.KeyInvalidFilter,
		},
		Each: func(ctx context.Context, p, order string, fn func(segment.Record) error) error {
			return s.eachOrder(ctx, p, order == "created_at", func(o Order) error { return fn(exportRow(o)) })
		},
	}
}

func exportRow(o Order) segment.Record {
	v := map[string]any{"id": o.ID, "source_id": o.SourceID, "status": o.Status, "customer_id": o.CustomerID,
		"created_at": o.CreatedAt, "amount": o.Amount}
	if o.UpdatedAt != nil {
		v["updated_at"] = *o.UpdatedAt
	}
	return segment.Record{Values: v, Metadata: o.Metadata}
}
