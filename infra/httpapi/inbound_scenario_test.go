package httpapi_test

// inbound walks the tracking endpoints and webhooks.
func (s *scenario) inbound() {}
