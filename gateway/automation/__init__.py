"""Two-way SMS and automation on top of campaigns: keywords with actions, drip sequences
triggered by keywords, list joins and API events, auto-replies, surveys and conversations.

The transport never imports this package: `gateway.automation.wiring.automation` builds the
gateway's `Extensions` (the inbound hook and the periodic step) around the marketing ones.
"""
