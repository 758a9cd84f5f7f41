"""How many SMS segments a text takes, and in which encoding (3GPP TS 23.038).

GSM-7 fits 160 characters in one segment and 153 in each of several (extension characters such
as € and [ take two); a single character outside it (á, í, ó, ú, emoji) makes the whole message
UCS-2: 70 in one segment, 67 in each of several, counted in UTF-16 code units.
"""

from __future__ import annotations

import math

import gsm0338  # noqa: F401 - registers the gsm03.38 codec
import msgspec


class SmsInfo(msgspec.Struct):
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int


def sms_info(text: str) -> SmsInfo:
    try:
        units, single, multi, encoding = len(text.encode("gsm03.38")), 160, 153, "GSM-7"
    except UnicodeEncodeError:
        units, single, multi, encoding = len(text.encode("utf-16-le")) // 2, 70, 67, "UCS-2"
    if units <= single:
        return SmsInfo(encoding, units, 1 if units else 0, single)
    return SmsInfo(encoding, units, math.ceil(units / multi), multi)
