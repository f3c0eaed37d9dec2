"""Parents' mobile numbers: Moroccan mobiles only, stored in the international +212 form."""

from __future__ import annotations

import re

from .errors import InvalidInput

# 06 and 07 are the mobile prefixes; +212 6/7 or 00212 6/7 in the international form.
_MOBILE = re.compile(r"^(?:\+212|00212|0)([67][0-9]{8})$")

# GSM 03.38 basic alphabet: a text made only of these fits 160 characters in one SMS;
# anything else (Arabic) is sent as UCS-2, 70 characters.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_LIMIT = 160
UCS2_LIMIT = 70


def check_mobile(text: str) -> str:
    """`06 12 34 56 78`, `0612345678`, `+212612345678` -> `+212612345678`; anything else is refused."""
    compact = re.sub(r"[\s.\-()]", "", text or "")
    m = _MOBILE.match(compact)
    if not m:
        raise InvalidInput(
            f"{text!r} is not a Moroccan mobile number: 06XXXXXXXX, 07XXXXXXXX or +2126XXXXXXXX",
            code="bad_phone",
        )
    return "+212" + m.group(1)


def sms_limit(text: str) -> int:
    """How many characters one SMS holds for this text."""
    return GSM7_LIMIT if all(c in _GSM7 for c in text) else UCS2_LIMIT


def fits_one_sms(text: str) -> bool:
    return len(text) <= sms_limit(text)
