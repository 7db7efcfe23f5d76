"""A two-question poll answered by 100 contacts through simulated inbound SMS."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.api import Api, wait_for
from tests.support.twoway import body, step_due, text_in

COLOURS = ["Red", "Green", "Blue"]


def _numbers(n: int) -> list[str]:
    return [f"+316130{i:05d}" for i in range(n)]


@pytest.mark.slow  # ~200 texts out through four simulated modems at 600 a minute each
def test_a_hundred_answers_valid_invalid_and_late_are_counted_right(busy_api: Api) -> None:
    api = busy_api
    numbers = _numbers(100)
    imported = body(api, "post", "/v1/contacts/import", 200, json={"contacts": [{"number": n} for n in numbers]})
    assert imported["created"] == 100, imported
    panel = body(api, "post", "/v1/lists", 201, json={"name": "panel"})
    ids = [c["id"] for c in api.every("/v1/contacts", limit=200)]
    body(api, "post", f"/v1/lists/{panel['id']}/members", 200, json={"contact_ids": ids})
    survey = body(
        api, "post", "/v1/surveys", 201,
        json={"name": "colours", "window_seconds": 3600, "thanks": "Thanks!",
              "questions": [{"text": "Favourite colour?", "choices": COLOURS}, {"text": "Why?"}]},
    )  # fmt: skip
    assert body(api, "post", f"/v1/surveys/{survey['id']}/send", 202, json={"lists": [panel["id"]]})["asked"] == 100

    # Three waves, each stored before the next: one number's replies arrive in order.
    expected: Counter[str] = Counter()
    late = numbers[90:]  # answered after the window: counted nowhere
    first_wave, second_wave = {}, {}
    for i, number in enumerate(numbers[:90]):
        if i % 10 == 0:  # not a choice, then "b" after the re-prompt
            first_wave[number], second_wave[number] = "purple", "b"
            expected["2"] += 1
        elif i % 10 == 1:  # not a choice twice: unanswered, on to the next question
            first_wave[number], second_wave[number] = "dunno", "still dunno"
        else:
            first_wave[number] = ["1", " red! ", "GREEN", "3", "c"][i % 5]
            expected[{"1": "1", " red! ": "1", "GREEN": "2", "3": "3", "c": "3"}[first_wave[number]]] += 1
    stored = 0
    for wave in (first_wave, second_wave, dict.fromkeys(numbers[:90], "because")):
        for i, (number, text) in enumerate(wave.items()):
            text_in(api, number, text, modem=f"sim{1 + i % 4}")
        stored += len(wave)
        wait_for(lambda n=stored: _inbound_count(api) == n, 60, f"{stored} answers stored")
    step_due(api, hours=1, seconds=1)
    for i, number in enumerate(late):
        text_in(api, number, "1", modem=f"sim{1 + i % 4}")
    wait_for(lambda: _inbound_count(api) == stored + 10, 60, "the late answers stored")

    results = wait_for(lambda: (r := body(api, "get", f"/v1/surveys/{survey['id']}/results", 200)) and r, 5, "results")
    first, second = results["questions"]
    assert {c["key"]: c["count"] for c in first["choices"]} == {
        "1": expected["1"],
        "2": expected["2"],
        "3": expected["3"],
    }
    assert first["answers"] == 81 and second["answers"] == 90
    assert results["sessions"] == {"done": 90, "expired": 10}  # the late ones found their question closed

    # Re-prompted once each: the 18 people whose first answer did not fit.
    def reprompts() -> int:
        return sum(m.startswith("Sorry, that is not one of the choices.") for m in _sent(api))

    wait_for(lambda: reprompts() >= 18, 60, "the re-prompts sent")
    wait_for(lambda: len(_sent(api)) >= 100 + 90 + 18 + 90, 60, "every question, re-prompt and thanks sent")
    assert reprompts() == 18
    assert len(_sent(api)) == 298  # nothing answers the late replies
    contact = body(api, "get", "/v1/contacts", 200, params={"number": numbers[2]})["items"][0]
    timeline = body(api, "get", f"/v1/contacts/{contact['id']}/timeline", 200)["items"]
    answers = [e["data"] for e in timeline if e["type"] == "survey_answer"]
    assert [(a["question"], a["text"]) for a in answers] == [(2, "because"), (1, first_wave[numbers[2]])]


def _inbound_count(api: Api) -> int:
    return len(api.every("/v1/inbox", limit=200))


def _sent(api: Api) -> list[str]:
    return [m["text"] for m in body(api, "get", "/v1/simulator/network", 200)["messages"]]
