"""Answers of test commands (``AT+CPMS=?``, ``AT+CNMI=?``): what values a modem offers.

V.250 §5.7.3 writes each parameter's values in parentheses: a list ``("SM","ME")``, a
range ``(0-3)`` or a mix ``(0,2-3)``; 27.005 / 27.007 put one such group per parameter,
separated by commas. Some firmware wraps the groups in one more pair of parentheses
(Wavecom answers ``+CPMS: (("SM","BM","SR"),("SM"))``), which `offered` unwraps.

Pure functions; the parser never raises: unbalanced parentheses close at the end of the
text, and a stray ``)`` is ignored, so a malformed answer gives what can be read of it.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["Item", "parse_items", "offered", "expand"]

Item: TypeAlias = "str | list[Item]"
"""One value (unquoted text) or a parenthesised list of items."""


def parse_items(text: str) -> list[Item]:
    """The comma-separated items of `text`, parentheses as nested lists, quotes removed.

    ``'("SM","ME"),(0-3)'`` -> ``[["SM", "ME"], ["0-3"]]``; ``'(("A"),("B"))'`` ->
    ``[[["A"], ["B"]]]``; an empty item stays ``""`` (``'1,,2'`` -> ``["1", "", "2"]``).
    """
    stack: list[list[Item]] = [[]]
    current: list[str] = []
    pending = False  # text (or an empty item after a comma) waits to be added
    quoted = False
    just_closed = False
    for char in text:
        if quoted:
            if char == '"':
                quoted = False
            else:
                current.append(char)
            continue
        if char == '"':
            quoted = pending = True
        elif char == "(":
            stack.append([])
            current, pending, just_closed = [], False, False
        elif char == ")":
            if len(stack) == 1:
                continue
            if pending or current:
                stack[-1].append("".join(current))
            done = stack.pop()
            stack[-1].append(done)
            current, pending, just_closed = [], False, True
        elif char == ",":
            if not just_closed:
                stack[-1].append("".join(current))
            current, pending, just_closed = [], True, False
        elif char.isspace():
            continue  # blanks outside quotes mean nothing
        else:
            current.append(char)
            pending, just_closed = True, False
    if pending or current:
        stack[-1].append("".join(current))
    while len(stack) > 1:
        done = stack.pop()
        stack[-1].append(done)
    return stack[0]


def offered(args: str) -> list[list[str]]:
    """Values offered per parameter, from the part of a test answer after the colon.

    ``'("SM","ME"),("SM","ME"),("SM","ME")'`` -> three lists; Wavecom's
    ``'(("SM","BM","SR"),("SM"))'`` -> ``[["SM","BM","SR"], ["SM"]]``. Ranges are
    expanded (`expand`); a bare value counts as a list of one.
    """
    items = parse_items(args)
    if len(items) == 1 and isinstance(items[0], list) and items[0] and all(isinstance(i, list) for i in items[0]):
        items = items[0]  # the extra pair of parentheses around all the groups
    return [expand(item) for item in items]


def expand(item: Item) -> list[str]:
    """The values of one parameter: ``["0-2", "5"]`` -> ``["0", "1", "2", "5"]``.

    Only ranges of small non-negative integers are expanded (at most 256 values);
    anything else is kept as written. Nested lists are flattened.
    """
    values: list[str] = []
    for value in item if isinstance(item, list) else [item]:
        if isinstance(value, list):
            values += expand(value)
            continue
        low, dash, high = value.partition("-")
        if dash and low.isdigit() and high.isdigit() and int(low) <= int(high) <= int(low) + 255:
            values += [str(n) for n in range(int(low), int(high) + 1)]
        elif value != "":
            values.append(value)
    return values
