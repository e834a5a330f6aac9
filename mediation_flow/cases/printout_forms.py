"""The printouts of a case (一案一卷) and when each makes sense: the case page offers a printout only once the
case has what it prints (``offered``), and the route refuses it before (``missing``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Form:
    slug: str  # in the address: /cases/{id}/print/{slug}.docx
    name: str  # the template's file name and the printout's name on the page
    needs: str = ""  # the event the case must have ("" for always)
    refused: bool | None = None  # True: only for a refused case; False: never for one
    missing: str = ""  # the message when the case does not have it yet


FORMS: dict[str, Form] = {
    f.slug: f
    for f in (
        Form("registration", "受理登记表"),
        Form("rights", "权利义务告知书", refused=False, missing="本案已不予受理，没有权利义务告知书"),
        Form("refusal", "不予受理告知书", "reject", missing="本案未作不予受理决定，没有不予受理告知书"),
        Form("record", "调解笔录", "record_session", missing="本案尚未记录调解，没有调解笔录"),
        Form("agreement", "调解协议书", "reach_agreement", missing="本案尚未达成调解协议，不能打印调解协议书"),
        Form("visit", "回访记录", "record_visit", missing="本案尚未记录回访，没有回访记录"),
        Form("referral", "移送函", "refer", missing="本案尚未转出，没有移送函"),
    )
}


def applies(form: Form, triggers: set[str]) -> bool:
    """Whether a case whose history holds ``triggers`` has what ``form`` prints."""
    if form.needs and form.needs not in triggers:
        return False
    return not (form.refused is False and "reject" in triggers)


def offered(events: list[dict[str, Any]], letter: str) -> list[tuple[str, str]]:
    """(slug, name) of each printout the case page offers, in the order of a case file; ``letter`` names the
    referral letter (移送函 or 转办单, ``views.letter_kind``)."""
    triggers = {e["trigger"] for e in events}
    shown = [f for f in FORMS.values() if applies(f, triggers)]
    return [(f.slug, letter if f.slug == "referral" and letter else f.name) for f in shown]
