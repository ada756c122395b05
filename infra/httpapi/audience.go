package httpapi

// audienceRoutes serve Voucherify's customers, segments, events and orders
// endpoints and promorelay's additions (event schema, segment backfill).
func (a *API) audienceRoutes() {}
