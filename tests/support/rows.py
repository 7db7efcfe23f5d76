"""Rows for store tests: sent messages with parts, built directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from gateway.core.db import session
from gateway.core.models import Message, Part

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def sent_message(
    engine: Engine,
    *,
    recipient: str,
    parts: list[tuple[str, int | None, datetime | None]],
    status: str = "sent",
    api_key_id: int | None = None,
) -> tuple[str, list[int]]:
    """A message whose parts went out as (modem, mr, submitted_at); mr None = not yet committed."""
    with session(engine) as s:
        m = Message(
            request_hash="x",
            recipient=recipient,
            text="t",
            encoding="gsm7",
            status=status,
            parts_total=len(parts),
            next_attempt_at=T0,
            valid_until=T0 + timedelta(days=2),
            created_at=T0,
            updated_at=T0,
            api_key_id=api_key_id,
        )
        s.add(m)
        s.flush()
        ids = []
        for seq, (modem, mr, at) in enumerate(parts, 1):
            p = Part(
                message_id=m.id,
                seq=seq,
                pdu="00",
                tpdu_length=1,
                status="sent" if mr is not None else "sending",
                modem_id=modem,
                message_reference=mr,
                submitted_at=at,
            )
            s.add(p)
            s.flush()
            ids.append(p.id)
        s.commit()
        return m.id, ids
