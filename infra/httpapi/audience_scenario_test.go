package httpapi_test

// audience walks the customers, segments, events and orders endpoints.
func (s *scenario) audience() {}
