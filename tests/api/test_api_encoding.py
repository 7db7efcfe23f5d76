"""`[sms]` languages and transliteration reach the messages API: the stored text is the one
the network receives, in the parts the tables promise."""

from __future__ import annotations

from pathlib import Path

from gateway.core.smssettings import SmsSettings
from tests.support.api import running_api, settings_for

TURKISH = (
    "Sayın müşterimiz, siparişiniz “kargoya” verildi. Teslimat için kuryemiz yarın sizi arayacak; "
    "lütfen telefonunuzun açık olduğundan emin olun. İyi günler dileriz! Teşekkürler."
)


def test_turkish_text_goes_in_fewer_parts_with_the_table_and_arrives_as_stored(tmp_path: Path) -> None:
    sms = SmsSettings(languages=["tr"], transliterate=True)
    with running_api(settings_for(f"sqlite:///{tmp_path / 'mg.db'}", sms=sms)) as api:
        accepted = api.send(TURKISH, to="+905320000009")
        assert (accepted["encoding"], accepted["parts_total"]) == ("gsm7", 2)
        assert accepted["text"] == TURKISH.replace("“", '"').replace("”", '"')  # only the quotes changed
        api.wait_delivered(accepted["id"])
        network = api.get("/v1/simulator/network").json()
        # The simulated network reassembles the parts with our decoder, which reads the IEs.
        assert [m["text"] for m in network["messages"] if "Teşekkürler" in m["text"]] == [accepted["text"]]


def test_without_the_settings_the_text_is_sent_as_written(tmp_path: Path) -> None:
    with running_api(settings_for(f"sqlite:///{tmp_path / 'mg.db'}")) as api:
        accepted = api.send(TURKISH, to="+905320000009")
        assert (accepted["encoding"], accepted["parts_total"], accepted["text"]) == ("ucs2", 3, TURKISH)
