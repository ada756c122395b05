// Package events parses, verifies and normalises inbound calls: Segment
// calls and batches, Shopify and WooCommerce webhooks, and the generic
// order webhook signed with Standard Webhooks. Each format lives in its own
// file and turns into core/customer's Message or Order.
//
// Nothing here speaks HTTP: callers pass the raw body and the header
// values. Verify a signature on the exact bytes received before parsing
// them. Every error is a *core.Error whose Key says what went wrong
// ("invalid_json", "invalid_payload", "payload_too_large",
// "invalid_signature", …) and whose Message names the field at fault.
// All functions are safe for concurrent use.
package events
