"""`create_app(settings)`: the FastAPI application, with the gateway started in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.bodies import hand_read_schemas
from api.console import install_console
from api.errors import document_errors, install_error_handlers
from api.limits import BodyLimit
from api.routers import (
    automation as two_way,
)
from api.routers import (
    campaigns,
    contacts,
    health,
    inbox,
    kannel,
    links,
    messages,
    modems,
    optouts,
    reports,
    simulator,
    webhooks,
)
from gateway.automation.wiring import automation
from gateway.campaigns.links import Resolver
from gateway.core.apikeys import VerifiedKeys
from gateway.core.egress import resolve_now
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, *, gateway: Gateway | None = None, resolver: Resolver = resolve_now) -> FastAPI:
    """The API. The gateway (workers, webhooks) starts and stops with the app; without
    one given, a gateway with the marketing rules and campaigns of `settings`. `resolver`
    looks up the host of `public_url` when a campaign is reviewed."""
    gw = gateway or Gateway(settings, extensions=automation(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gw.start()
        try:
            yield
        finally:
            await gw.stop()

    app = FastAPI(
        title="modemgate",
        version="0.1.0",
        description="Self-hosted SMS gateway for USB GSM modems. Send with `Authorization: Bearer <key>`.",
        lifespan=lifespan,
    )
    app.state.gateway = gw
    app.state.verified_keys = VerifiedKeys()
    app.state.resolver = resolver
    install_error_handlers(app)
    for router in (messages, reports, inbox, modems, webhooks, simulator, health):
        app.include_router(router.router)
    app.include_router(contacts.router)
    app.include_router(optouts.router)
    app.include_router(campaigns.router)
    app.include_router(links.router)
    app.include_router(kannel.router)
    app.include_router(two_way.router)
    install_console(app, sleep=gw.clock.sleep)
    imports = {path: settings.max_import_bytes for path in ("/v1/contacts/import", "/v1/opt-outs/import")}
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, per_path=imports)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI builds the schema once and keeps it; the error bodies are added that once.
        if app.openapi_schema is None:
            schema = generate()
            # Bodies read by hand are documented by reference: define what they refer to.
            for name, model in hand_read_schemas().items():
                schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(name, model)
            document_errors(schema)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    return app
