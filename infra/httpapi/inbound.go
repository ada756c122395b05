package httpapi

// inboundRoutes serve what shops and Segment send: the Segment-compatible
// tracking endpoints, Segment's Webhooks destination and order webhooks.
func (a *API) inboundRoutes() {}
