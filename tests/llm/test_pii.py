"""PII masking: configured patterns are gone before any text reaches a model, and from logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from daemon.app import Services
from daemon.config import PiiSettings
from daemon.llm.pii import PiiMasker, set_log_masker
from daemon.logs import RedactingFilter
from tests.llm.helpers import deliver, make_mail
from tests.llm.scripted_server import ScriptedLLM

MASKS = [
    ("my card 4111 1111 1111 1111 was charged twice", "my card [card] was charged twice"),
    ("card 4111-1111-1111-1111, exp 12/27", "card [card], exp 12/27"),
    ("Mastercard 5500005555555559.", "Mastercard [card]."),
    (
        "order 1234567890123456 (not a card: Luhn fails)",
        "order 1234567890123456 (not a card: Luhn fails)",
    ),
    ("order 10001 and phone +49 30 1234567", "order 10001 and phone +49 30 1234567"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("refund to GB82WEST12345698765432", "refund to [iban]"),
    (
        "code DE00370400440532013000 (checksum wrong)",
        "code DE00370400440532013000 (checksum wrong)",
    ),
]


@pytest.mark.parametrize(("text", "masked"), MASKS)
def test_default_patterns(text: str, masked: str) -> None:
    assert PiiMasker.from_settings(PiiSettings()).mask(text) == masked


def test_configured_pattern_without_checksums() -> None:
    masker = PiiMasker(
        {"ssn": r"\b\d{3}-\d{2}-\d{4}\b", "card": r"\b(?:\d[ -]?){12,18}\d\b"}, checksums=False
    )
    assert masker.mask("ssn 078-05-1120, id 1234567890123456") == "ssn [ssn], id [card]"


@pytest.fixture
def services(llm_services: Services) -> Iterator[Services]:
    yield llm_services
    set_log_masker(PiiMasker.from_settings(PiiSettings()))


def test_nothing_the_model_sees_holds_the_card_or_iban(
    services: Services, llm_server: ScriptedLLM
) -> None:
    body = (
        "Where is my order 10001? I paid with card 4111 1111 1111 1111; if it is lost, "
        "refund to DE89 3704 0044 0532 0130 00."
    )
    deliver(services, make_mail(body, subject="Order 10001"))
    sent = repr(llm_server.requests)
    assert "4111" not in sent and "3704" not in sent
    assert "[card]" in sent and "[iban]" in sent
    assert "10001" in sent  # the order number survives, and the tool was called with it


def test_log_lines_are_masked(services: Services) -> None:
    record = logging.LogRecord(
        "helpdeskd.draft",
        logging.INFO,
        __file__,
        1,
        "message %s from %s paid with 4111111111111111",
        (7, "alice@example.org"),
        None,
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "message 7 from a***@example.org paid with [card]"
