"""SMS transport: settings, storage, outbox, pacing, dispatcher, reports, inbound, webhooks, runtime.

Imports `drivers` and nothing else of the project: marketing rules reach the outbox's claim
as a policy object that the composition root (`cli`) supplies.
"""
