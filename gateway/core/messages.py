"""Reading a sender's messages back: one by id, or a page of them with filters.

Only the messages of the API key asking are visible; another key's message is as not
found as one that never existed.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from gateway.core import outbox, paging
from gateway.core.errors import NotFound
from gateway.core.models import Message

__all__ = ["own_message", "list_messages"]


def own_message(s: Session, message_id: str, api_key_id: int | None) -> Message:
    """The message of `api_key_id`, else NotFound. Ids are UUIDs: anything else is not looked up."""
    try:
        uuid.UUID(message_id)
    except ValueError:
        raise NotFound("message", message_id, message="message not found: not a message id") from None
    return outbox.get_message(s, message_id, api_key_id=api_key_id)


def list_messages(
    s: Session,
    *,
    api_key_id: int | None,
    cursor: str | None,
    limit: int,
    status: str | None = None,
    recipient: str | None = None,
) -> paging.Page[Message]:
    """The messages of `api_key_id`, newest first, one page from `cursor`; `recipient` in E.164."""
    query = select(Message).where(Message.api_key_id == api_key_id)
    if status:
        query = query.where(Message.status == status)
    if recipient:
        query = query.where(Message.recipient == recipient)
    return paging.query_page(s, query, Message.created_at, Message.id, cursor=cursor, limit=limit, id_type=str)
