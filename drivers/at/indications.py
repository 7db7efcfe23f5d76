"""Choosing the AT+CNMI setting from what a modem offers (3GPP TS 27.005 §3.4.1).

`AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>` says where new messages and status reports go. Modems
offer different values for each field in their `AT+CNMI=?` answer (a Cinterion MC75i takes
`<bfr>` 1 only, a SIM800 lacks `<ds>` 2), and refuse the rest. A fixed list of candidates
can end on a setting with status reports off although the modem could route them; building
the candidates from the offer keeps them on whenever it can. Pure functions.
"""

from __future__ import annotations

__all__ = ["cnmi_choices", "reports_routed"]

# What each AT+CNMI field is best set to, best first (27.005 §3.4.1): <mode> 2 buffers
# indications while a command runs; <mt> 1 stores messages and indicates them (+CMTI);
# <bm> 0 no cell broadcast; <ds> 2 stores status reports (+CDSI), 1 routes them (+CDS);
# <bfr> 0 flushes what was buffered, 1 clears it: either will do.
_CNMI_PREFERENCES = (("2", "1", "3"), ("1",), ("0",), ("2", "1", "0"), ("0", "1"))


def cnmi_choices(offer: list[list[str]]) -> list[str]:
    """AT+CNMI settings built from the values a modem offers (`offered` of its AT+CNMI=?
    answer), best first: status reports on whenever the modem can route them. Empty when
    the offer does not allow storing new messages with an indication (<mt> 1)."""
    if len(offer) < 2:
        return []
    fields: list[list[str]] = []
    for i, preferred in enumerate(_CNMI_PREFERENCES[: len(offer)]):
        values = [v for v in preferred if v in offer[i]]
        if not values and i == 2 and offer[i]:
            values = [offer[i][0]]  # cell broadcast: whatever it offers will do
        if not values:
            return []
        fields.append(values)
    ranks = [{v: n for n, v in enumerate(f)} for f in fields]
    settings: list[list[str]] = [[]]
    for values in fields:
        settings = [[*s, v] for s in settings for v in values]
    # <ds> decides first (reports on), then the other fields in their own order.
    order = [i for i in (3, 0, 1, 2, 4) if i < len(fields)]
    settings.sort(key=lambda s: [ranks[i][s[i]] for i in order])
    return [",".join(s) for s in settings]


def reports_routed(cnmi: str | None) -> bool:
    """Whether an AT+CNMI setting hands status reports over: <ds> 1 (+CDS) or 2 (+CDSI)."""
    fields = (cnmi or "").split(",")
    return len(fields) > 3 and fields[3].strip() in ("1", "2")
