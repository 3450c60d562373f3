"""Subject normalisation (a table, Zulip-style) and threading evidence order."""

from __future__ import annotations

import pytest

from daemon.mail.subject import strip_subject

SUBJECTS = [
    ("Re: Fwd:  Re:  Software", "Software"),
    ("RE: AW: Bestellung 4711", "Bestellung 4711"),
    ("Re: Where is my order? [#12]", "Where is my order?"),
    ("[#12] Re: refund", "refund"),
    ("SV: Vs: Tilaus", "Tilaus"),
    ("Re[2]: invoice", "invoice"),
    ("Fwd: ", ""),
    ("Réf: commande", "Réf: commande"),  # not a reply prefix we know: left alone
    ("Retour produit", "Retour produit"),  # "Re" inside a word is not a prefix
    ("re:re:re: hello   world", "hello world"),
]


@pytest.mark.parametrize(("subject", "expected"), SUBJECTS)
def test_strip_subject(subject: str, expected: str) -> None:
    assert strip_subject(subject) == expected
