"""A daily cap is never crossed: a message that does not fit goes to another modem or
waits for the modem's next day, and a multipart message is never cut.

The real gateway in this process, its two simulated modems over TCP; the wall clock is
moved a day forward by hand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from gateway.core.settings import ModemSettings
from tests.support.api import Api, running_api, settings_for, wait_for

CAPS = {"sim1": 5, "sim2": 6}
# Parts: 2+2+2+2 + 3+3 + 1+1+1 = 17 against 11 a day: three days, with the pieces that
# fit nowhere today (a 3-part message on a modem with 2 left) waiting for tomorrow.
TEXTS = ["two parts " * 18] * 4 + ["three parts " * 30] * 2 + ["one part"] * 3


def _settings(tmp_path: Any) -> Any:
    modems = [
        ModemSettings(id="sim1", port="sim://sim1", sends_per_minute="unlimited", daily_cap=CAPS["sim1"]),
        ModemSettings(
            id="sim2",
            port="sim://sim2",
            sends_per_minute="unlimited",
            daily_cap=CAPS["sim2"],
            time_zone="Pacific/Auckland",
        ),
    ]
    return settings_for(f"sqlite:///{tmp_path / 'cap.db'}").model_copy(update={"modems": modems})


def _network(api: Api) -> list[dict[str, Any]]:
    return api.get("/v1/simulator/network").json()["received"]


def _settled(api: Api, ids: list[str]) -> bool:
    """Nothing is being sent and nothing still queued fits in what either modem has left."""
    messages = [api.message(i) for i in ids]
    if any(m["status"] == "sending" for m in messages):
        return False
    room = [m["pacing"]["daily_cap"] - m["pacing"]["sent_today"] for m in api.modems().values()]
    waiting = [len(m["parts"]) for m in messages if m["status"] == "queued"]
    return all(parts > max(room) for parts in waiting)


def test_multipart_messages_around_the_cap_never_cross_it_and_wait_for_the_next_day(tmp_path):
    with running_api(_settings(tmp_path)) as api:
        ids = [api.send(text, to=f"+3161200{i:04d}")["id"] for i, text in enumerate(TEXTS)]
        per_day: list[Counter[str]] = []
        seen = 0
        for _day in range(4):
            wait_for(lambda: _settled(api, ids), 15, "the day's sending to settle", every=0.1)
            received = _network(api)
            per_day.append(Counter(r["modem"] for r in received[seen:]))
            seen = len(received)
            if all(api.message(i)["status"] != "queued" for i in ids):
                break
            api.clock.advance(days=1)
            api.gateway.wake()

        # Never above a modem's cap on any day, and the caps were used.
        for day in per_day:
            assert all(day[m] <= cap for m, cap in CAPS.items()), per_day
        assert sum(per_day[0].values()) >= 9, per_day  # the first day was used, not skipped
        assert len(per_day) >= 2  # 17 parts against 11 a day: some waited for a next day

        # Every message went, whole, through one modem.
        assert {api.message(i)["status"] for i in ids} <= {"sent", "delivered"}
        received = _network(api)
        modems_of: dict[str, set[str]] = defaultdict(set)
        for part in received:
            modems_of[part["recipient"]].add(part["modem"])
        assert all(len(m) == 1 for m in modems_of.values()), modems_of
        assert Counter(r["recipient"] for r in received) == {
            f"+3161200{i:04d}": len(api.message(mid)["parts"]) for i, mid in enumerate(ids)
        }
        assert Counter(m["text"] for m in api.get("/v1/simulator/network").json()["messages"]) == Counter(TEXTS)
        modems = api.modems()
        assert all(m["pacing"]["unlimited"] and m["pacing"]["sends_per_minute"] is None for m in modems.values())
