"""Console pages beyond the core flows, in process: opt-outs and webhooks."""

from __future__ import annotations

import html
from functools import partial

import sqlalchemy as sa

from gateway import campaigns
from gateway.audience import contacts
from gateway.core.db import session
from gateway.core.models import Campaign
from tests.console.conftest import Console
from tests.support.api import wait_for


def test_opt_outs_are_added_imported_with_row_errors_and_exported(console: Console) -> None:
    client, token = console.signed_in("marketer")
    added = client.post("/optouts", data={"csrf": token, "number": "0612345611"})
    assert added.status_code == 200 and "+31612345611 is opted out" in added.text
    imported = client.post(
        "/optouts", data={"csrf": token, "csv_text": "number\n+31612345612\nnonsense\n+31612345611\n"}
    )
    assert imported.status_code == 200
    assert "1 added · 1 already opted out · 1 row(s) with errors" in imported.text
    assert "nonsense" in imported.text
    page = client.get("/optouts").text
    assert "+31612345611" in page and "+31612345612" in page
    export = client.get("/optouts/export")
    assert export.headers["content-type"].startswith("text/csv")
    assert b"+31612345612," in export.content
    viewer, viewer_token = console.signed_in("viewer")
    assert viewer.post("/optouts", data={"csrf": viewer_token, "number": "+31612345613"}).status_code == 403
    assert viewer.get("/optouts/export").status_code == 403


def test_webhook_deliveries_are_listed_and_sent_again(console: Console) -> None:
    api = console.api
    hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["message.status"]})
    assert hook.status_code == 201, hook.text
    api.send("watched")
    client, token = console.signed_in("admin")
    page = wait_for(
        lambda: (r := client.get("/settings/webhooks")) and "message.status" in r.text and r.text,
        10,
        "a delivery listed",
    )
    assert "http://127.0.0.1:9/hook" in page
    delivery = page.split("/settings/webhooks/deliveries/")[1].split("/")[0]
    again = client.post(f"/settings/webhooks/deliveries/{delivery}/replay", data={"csrf": token})
    assert again.status_code == 200 and f"Delivery {delivery} is queued again" in again.text
    marketer, _ = console.signed_in("marketer")
    assert marketer.get("/settings/webhooks").status_code == 403


def test_a_modem_page_lists_its_at_errors_with_the_command(console: Console) -> None:
    api = console.api
    simulated = api.gateway.simulated
    assert simulated is not None
    sim1 = api.gateway.workers["sim1"]
    sim1.enable(False)  # the message goes to sim2, whose next send is refused
    try:
        api.gateway.call_in_loop(partial(simulated.simulator.set_faults, simulated.sim_ids["sim2"], cms_error=500))
        api.send("refused once")
        wait_for(lambda: api.gateway.workers["sim2"].status.at_errors, 10, "an AT error seen")
    finally:
        sim1.enable(True)
    viewer, _ = console.signed_in("viewer")
    page = viewer.get("/modems/sim2")
    assert page.status_code == 200
    errors = page.text.split('id="at-errors"')[1].split("</table>")[0]
    assert "AT+CMGS=" in errors and "+CMS ERROR: 500" in errors
    assert "Re-probe" not in page.text  # not a viewer's action
    assert "No AT errors" in viewer.get("/modems/sim1").text
    assert viewer.get("/modems/nope").status_code == 404


def test_an_admin_reprobes_a_modem_and_others_cannot(console: Console) -> None:
    worker = console.api.gateway.workers["sim1"]
    before = worker.link.reconnects
    for role in ("viewer", "marketer"):
        client, token = console.signed_in(role)
        assert client.post("/modems/sim1/reprobe", data={"csrf": token}).status_code == 403
    admin, token = console.signed_in("admin")
    assert admin.post("/modems/sim1/reprobe").status_code == 403  # no CSRF token
    assert worker.link.reconnects == before
    done = admin.post("/modems/sim1/reprobe", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/modems/sim1?reprobed=1"
    wait_for(lambda: worker.link.reconnects == before + 1 and worker.status.state == "ready", 10, "sim1 reopened")
    page = admin.get(done.headers["location"]).text
    assert "is being closed and opened again" in page and f"{before + 1} times since start" in page


def _import(console: Console, csv_text: str, list_name: str) -> None:
    client, token = console.signed_in("marketer")
    response = client.post(
        "/contacts/import",
        data={"csrf": token, "csv_text": csv_text, "list_name": list_name, "consent_source": "shop form"},
    )
    assert response.status_code == 200, response.text


def _contact_id(console: Console, number: str) -> int:
    with session(console.api.gateway.engine) as s:
        found = contacts.find_contact(s, number)
        assert found is not None and found.id is not None
        return found.id


def _campaign_count(console: Console) -> int:
    with console.api.gateway.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Campaign)).scalar_one()


def test_the_editor_previews_an_unsaved_text_for_a_chosen_contact(console: Console) -> None:
    _import(console, "number,first_name\n+31612345021,Zoë\n", "preview people")
    zoe = _contact_id(console, "+31612345021")
    client, token = console.signed_in("marketer")
    assert f'<option value="{zoe}">+31612345021 · Zoë</option>' in client.get("/campaigns/new").text
    before = _campaign_count(console)
    form = {
        "template": "Hi {{first_name|there}}, sale: https://shop.example/sale",
        "brand": "Shop",
        "footer": "Reply STOP to opt out",
        "contact": zoe,
    }
    shown = client.post("/campaigns/preview", data={**form, "csrf": token})
    assert shown.status_code == 200
    assert "Shop: Hi Zoë, sale: https://sms.example.com/r/" in shown.text
    assert "Reply STOP to opt out" in shown.text and "UCS-2" in shown.text  # ë is not GSM-7
    assert _campaign_count(console) == before  # nothing saved
    broken = client.post("/campaigns/preview", data={**form, "template": "Hi {{first_name", "csrf": token})
    assert broken.status_code == 422 and 'id="error-message"' in broken.text
    assert client.post("/campaigns/preview", data=form).status_code == 403  # no CSRF token
    viewer, viewer_token = console.signed_in("viewer")
    assert viewer.post("/campaigns/preview", data={**form, "csrf": viewer_token}).status_code == 403


def test_the_editor_makes_an_ab_campaign_with_weights_and_a_test_share(console: Console) -> None:
    client, token = console.signed_in("marketer")
    created = client.post(
        "/campaigns",
        data={
            "csrf": token, "name": "Two texts", "template": "",
            "variant_name": ["short", "long", "C"], "variant_weight": ["3", "1", "1"],
            "variant_template": ["Sale today", "Our winter sale starts today", ""], "test_share": "20",
        },
    )  # fmt: skip
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    with session(console.api.gateway.engine) as s:
        variants = [(v.name, v.template, v.split) for v in campaigns.variants_of(s, campaign_id)]
        assert campaigns.get(s, campaign_id).test_share == 20
    assert variants == [("short", "Sale today", 3), ("long", "Our winter sale starts today", 1)]
    page = client.get(created.headers["location"]).text
    assert "Variant short" in page and "Our winter sale starts today" in page and "20% first" in page
    one = client.post(
        "/campaigns",
        data={"csrf": token, "name": "One text", "variant_name": ["A"], "variant_template": ["x"]},
    )
    assert one.status_code == 422 and "at least two variants" in one.text


def test_lists_are_made_renamed_filled_emptied_and_deleted(console: Console) -> None:
    _import(console, "number,city\n+31612345031,Delft\n+31612345032,Ede\n", "people 3x")
    client, token = console.signed_in("marketer")
    made = client.post("/lists", data={"csrf": token, "name": "VIPs"})
    assert made.status_code == 303
    with session(console.api.gateway.engine) as s:
        vips = next(x for x in contacts.all_lists(s) if x.name == "VIPs").id
    added = client.post(
        f"/lists/{vips}/members", data={"csrf": token, "action": "add", "numbers": "+31612345031\n0612345032"}
    )
    assert "2 contact(s) added to the list." in client.get(added.headers["location"]).text
    unknown = client.post(f"/lists/{vips}/members", data={"csrf": token, "action": "add", "numbers": "+31612349876"})
    assert unknown.status_code == 422 and "no contact has the number +31612349876" in unknown.text
    removed = client.post(f"/lists/{vips}/members", data={"csrf": token, "action": "remove", "numbers": "+31612345032"})
    assert "1 contact(s) taken off the list." in client.get(removed.headers["location"]).text
    assert client.post(f"/lists/{vips}/rename", data={"csrf": token, "name": "Best customers"}).status_code == 303
    taken = client.post(f"/lists/{vips}/rename", data={"csrf": token, "name": "people 3x"})
    assert taken.status_code == 409  # another list has that name
    page = client.get("/lists").text
    row = page.split(f'id="list-{vips}"')[1].split("</tr>")[0]
    assert "Best customers" in row and "<td>1</td>" in row
    assert "+31612345031" in client.get(f"/contacts?list={vips}").text
    viewer, viewer_token = console.signed_in("viewer")
    assert viewer.get("/lists").status_code == 200 and "Make list" not in viewer.get("/lists").text
    assert viewer.post(f"/lists/{vips}/delete", data={"csrf": viewer_token}).status_code == 403
    assert client.post(f"/lists/{vips}/delete").status_code == 403  # no CSRF token
    assert client.post(f"/lists/{vips}/delete", data={"csrf": token}).status_code == 303
    with session(console.api.gateway.engine) as s:
        assert vips not in [x.id for x in contacts.all_lists(s)]
        assert contacts.find_contact(s, "+31612345031") is not None  # its contacts stay


def test_a_segment_is_made_from_conditions_and_deleted(console: Console) -> None:
    _import(console, "number,city\n+31612345041,Leiden\n+31612345042,Gouda\n", "people 4x")
    client, token = console.signed_in("marketer")
    form = {"csrf": token, "name": "Leiden or Gouda", "match": "any"}
    made = client.post(
        "/segments",
        data={**form, "field": ["city", "city", ""], "op": ["eq", "in", "eq"], "value": ["Leiden", "Gouda, Zeist", ""]},
    )
    assert made.status_code == 303, made.text
    with session(console.api.gateway.engine) as s:
        segment = next(x for x in contacts.all_segments(s) if x.name == "Leiden or Gouda")
    assert segment.rules == {
        "any": [
            {"field": "fields.city", "op": "eq", "value": "Leiden"},
            {"field": "fields.city", "op": "in", "value": ["Gouda", "Zeist"]},
        ]
    }
    row = client.get("/lists").text.split(f'id="segment-{segment.id}"')[1].split("</tr>")[0]
    assert "<td>2</td>" in row
    listed = client.get(f"/contacts?segment={segment.id}").text
    assert "+31612345041" in listed and "+31612345042" in listed and "+31612345031" not in listed
    bad = client.post("/segments", data={**form, "name": "bad", "field": ["city"], "op": ["between"], "value": ["x"]})
    assert bad.status_code == 422
    viewer, viewer_token = console.signed_in("viewer")
    assert viewer.post("/segments", data={**form, "csrf": viewer_token, "field": ["city"]}).status_code == 403
    assert client.post(f"/segments/{segment.id}/delete", data={"csrf": token}).status_code == 303
    with session(console.api.gateway.engine) as s:
        assert segment.id not in [x.id for x in contacts.all_segments(s)]


def test_an_admin_registers_a_webhook_with_the_apis_egress_check(console: Console) -> None:
    api = console.api
    client, token = console.signed_in("admin")
    internal = "http://10.1.2.3/hook"
    refused_api = api.post("/v1/webhooks", json={"url": internal, "events": ["message.status"]})
    assert refused_api.status_code == 422
    reason = refused_api.json()["error"]["message"]
    refused = client.post("/settings/webhooks", data={"csrf": token, "url": internal, "events": ["message.status"]})
    assert refused.status_code == 422 and html.escape(reason, quote=False) in refused.text
    made = client.post(
        "/settings/webhooks",
        data={"csrf": token, "url": "http://127.0.0.1:9/console-hook", "events": ["message.status", "optout"]},
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = made.text.split('id="webhook-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    api.send("for the console's hook")
    page = wait_for(
        lambda: (
            (r := client.get("/settings/webhooks").text)
            and (section := r.split("http://127.0.0.1:9/console-hook</h2>")[1].split("</section>")[0])
            and "message.status" in section.split("</p>", 1)[1]
            and r
        ),
        10,
        "a delivery to the new webhook",
    )
    assert secret not in page  # shown once
    assert "the whole gateway" in page
    for role in ("marketer", "viewer"):
        other, other_token = console.signed_in(role)
        data = {"csrf": other_token, "url": "http://127.0.0.1:9/x", "events": ["optout"]}
        assert other.post("/settings/webhooks", data=data).status_code == 403
    assert (
        client.post("/settings/webhooks", data={"url": "http://127.0.0.1:9/y", "events": ["optout"]}).status_code == 403
    )


def test_the_editor_takes_segments_and_exclusion_lists_as_the_audience(console: Console) -> None:
    _import(console, "number,city\n+31612345051,Zwolle\n+31612345052,Zwolle\n", "people 5x")
    client, token = console.signed_in("marketer")
    assert client.post("/lists", data={"csrf": token, "name": "Do not text", "kind": "exclude"}).status_code == 303
    made = client.post(
        "/segments", data={"csrf": token, "name": "Zwolle", "field": ["city"], "op": ["eq"], "value": ["Zwolle"]}
    )
    assert made.status_code == 303
    with session(console.api.gateway.engine) as s:
        zwolle = next(x for x in contacts.all_segments(s) if x.name == "Zwolle").id
        excluded = next(x for x in contacts.all_lists(s) if x.name == "Do not text").id
    form = client.get("/campaigns/new").text
    assert f'name="segments" value="{zwolle}"' in form and f'name="exclude_lists" value="{excluded}"' in form
    created = client.post(
        "/campaigns",
        data={
            "csrf": token,
            "name": "Zwolle only",
            "template": "Hi",
            "segments": [zwolle],
            "exclude_lists": [excluded],
        },
    )
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"]).text
    assert "<dt>Segments</dt><dd>Zwolle</dd>" in page and "<dt>Never to</dt><dd>Do not text</dd>" in page
    assert "+31612345051" in page.split('id="previews"')[1]  # the segment's contacts are the audience
