"""Normalise contact addresses so one person is one patient whichever way they wrote."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from channels.base import PuenteError


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEBCHAT = "webchat"
    PORTAL = "portal"  # a patient-portal user id, vouched for by the clinic's server


class InvalidContact(PuenteError, ValueError):
    """The address cannot belong to a reachable person; the message says why."""


_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_PORTAL_ID = re.compile(r"^[A-Za-z0-9._:@|-]{1,128}$")


def display_phone(e164: str, region: str = "US") -> str:
    """How people write a number at home: '+16502530000' -> '(650) 253-0000' in the US."""
    try:
        number = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    same_country = phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same_country else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


@lru_cache(maxsize=65536)
def normalise_phone(raw: str, default_region: str = "US") -> str:
    """E.164, e.g. '(650) 253-0000' -> '+16502530000'."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def normalise_email(raw: str) -> str:
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(f"not a valid email address: {exc}") from None
    # Mailboxes are case-sensitive by the RFC but not in practice; one patient, one address.
    return info.normalized.lower()


def normalise_visitor(raw: str) -> str:
    if not _VISITOR_ID.match(raw):
        raise InvalidContact("web-chat visitor id must be 8-64 letters, digits, '-' or '_'")
    return raw


def normalise_portal_user(raw: str) -> str:
    if not _PORTAL_ID.match(raw):
        raise InvalidContact("portal user id must be 1-128 letters, digits or . _ : @ | -")
    return raw


def normalise(kind: str, raw: str, default_region: str = "US") -> str:
    if kind == ContactKind.PHONE:
        return normalise_phone(raw, default_region)
    if kind == ContactKind.EMAIL:
        return normalise_email(raw)
    if kind == ContactKind.WEBCHAT:
        return normalise_visitor(raw)
    if kind == ContactKind.PORTAL:
        return normalise_portal_user(raw)
    raise InvalidContact(f"unknown contact kind {kind!r}; expected one of {', '.join(ContactKind)}")
