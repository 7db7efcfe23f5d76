"""Business layer: outbox, dispatcher, reports, inbound, consent, campaigns, CLI."""
