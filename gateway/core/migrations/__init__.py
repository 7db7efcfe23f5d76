"""Alembic environment and revisions for the gateway's tables (applied by gateway.core.db.migrate)."""
