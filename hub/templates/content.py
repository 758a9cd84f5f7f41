"""A template's content: per channel (sms, email, chat), per locale (en, es, es-MX...), a body
and for email a subject. Validation says what is wrong and where; picking says which variant a
reader gets (es-MX -> es -> the clinic's default), and whether that was a fallback.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

import msgspec

from hub.bounds import text
from hub.i18n import _
from hub.refusals import Problem
from hub.templates.placeholders import PLACEHOLDERS
from hub.templates.render import Reader, render
from hub.templates.sms import SmsInfo, sms_info
from hub.templates.syntax import BrokenSyntax, Node, check, names, parse

TemplateChannel = Literal["sms", "email", "chat"]
LocaleTag = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
MAX_SMS_SEGMENTS = 10  # Twilio's own ceiling is 1,600 characters, about 10 segments


class Variant(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    body: text(4000) = ""  # type: ignore[valid-type]
    subject: text(200) | None = None  # type: ignore[valid-type]


Content = dict[TemplateChannel, dict[LocaleTag, Variant]]
FIELDS = ("subject", "body")
SAMPLES: dict[str, Any] = {p.name: p.sample for p in PLACEHOLDERS.values()}


def _fields(channel: str, variant: Variant) -> list[tuple[str, str]]:
    out = [("body", variant.body)]
    if channel == "email":
        out.insert(0, ("subject", variant.subject or ""))
    return out


SYNTAX = {
    "syntax": _("This text cannot be read near character {position}: check its braces {{ }}."),
    "missing_other": _("A plural or a choice needs an 'other' form (near character {position})."),
}


def parsed(content: Content) -> tuple[dict[tuple[str, str, str], list[Node]], list[Problem]]:
    """Every field that parses, by (channel, locale, field); and what does not or is wrong."""
    trees: dict[tuple[str, str, str], list[Node]] = {}
    problems: list[Problem] = []
    for channel, by_locale in content.items():
        for locale, variant in by_locale.items():
            where = {"channel": channel, "locale": locale}
            if channel != "email" and variant.subject:
                problems.append(
                    Problem("subject_not_email", _("Only email has a subject."), where={**where, "field": "subject"})
                )
            if variant.subject and ("\n" in variant.subject or "\r" in variant.subject):
                problems.append(
                    Problem("subject_newline", _("A subject is one line."), where={**where, "field": "subject"})
                )
            for field, value in _fields(channel, variant):
                if not value.strip():
                    continue
                at = {**where, "field": field}
                try:
                    trees[(channel, locale, field)] = nodes = parse(value)
                except BrokenSyntax as exc:
                    message = SYNTAX[exc.code]
                    where_ = {**at, "position": exc.position}
                    problems.append(Problem(exc.code, message, {"position": (exc.position or 0) + 1}, where=where_))
                    continue
                problems += [replace_where(p, at) for p in check(nodes)]
    return trees, problems


def replace_where(problem: Problem, where: dict[str, Any]) -> Problem:
    return msgspec.structs.replace(problem, where={**where, **problem.where})


def validate(content: Content, languages: tuple[str, ...]) -> list[Problem]:
    """Everything wrong with the content. Problems that block only publishing (a missing
    translation, a missing subject) are fine in a draft."""
    problems: list[Problem] = []
    if not content:
        problems.append(Problem("no_channels", _("Give the template at least one channel: SMS, email or chat.")))
    trees, found = parsed(content)
    problems += found
    for channel, by_locale in content.items():
        for language in languages:
            variant = by_locale.get(language)
            if variant is None or not variant.body.strip():
                problems.append(
                    Problem(
                        "missing_translation",
                        _("The {language} text is missing."),
                        {"language": language},
                        where={"channel": channel, "locale": language, "field": "body"},
                        blocks="publish",
                    )
                )
        if channel == "email":
            for locale, variant in by_locale.items():
                if variant.body.strip() and not (variant.subject or "").strip():
                    problems.append(
                        Problem(
                            "missing_subject",
                            _("An email needs a subject."),
                            where={"channel": channel, "locale": locale, "field": "subject"},
                            blocks="publish",
                        )
                    )
        problems += _same_placeholders(channel, by_locale, trees)
        if channel == "sms":
            for locale in by_locale:
                tree = trees.get((channel, locale, "body"))
                info = sms_info(render(tree, SAMPLES, Reader(locale))) if tree is not None else None
                if info and info.segments > MAX_SMS_SEGMENTS:
                    problems.append(
                        Problem(
                            "sms_too_long",
                            _("As a text message this takes {segments} segments; keep it to {limit} at most."),
                            {"segments": info.segments, "limit": MAX_SMS_SEGMENTS},
                            where={"channel": channel, "locale": locale, "field": "body"},
                        )
                    )
    return problems


def _same_placeholders(
    channel: str, by_locale: dict[str, Variant], trees: dict[tuple[str, str, str], list[Node]]
) -> list[Problem]:
    """Every locale of a field uses the same placeholders: a translation that drops the
    appointment time (or adds one) would say something else."""
    problems = []
    for field in FIELDS:
        used = {locale: names(tree) for (c, locale, f), tree in trees.items() if c == channel and f == field}
        every = set().union(*used.values()) if used else set()
        for locale, mine in used.items():
            if missing := sorted(every - mine):
                problems.append(
                    Problem(
                        "placeholders_differ",
                        _("This text lacks {names}, which the other languages use."),
                        {"names": ", ".join(f"{{{n}}}" for n in missing)},
                        where={"channel": channel, "locale": locale, "field": field},
                    )
                )
    return problems


def blocking(problems: list[Problem], stage: str) -> list[Problem]:
    """The problems that stop `stage` ("save" or "publish"); publishing is stopped by all."""
    return problems if stage == "publish" else [p for p in problems if p.blocks == "save"]


# --- which variant a reader gets -------------------------------------------------------------

# For a reply on each inbox channel, the template channels to use, best first.
FOR_REPLY: dict[str, tuple[TemplateChannel, ...]] = {
    "sms": ("sms", "chat"),
    "webchat": ("chat", "sms"),
    "api": ("chat", "sms"),
    "email": ("email", "chat"),
}


def fallback_chain(language: str | None, default: str) -> list[str]:
    """es-MX -> es -> the clinic's default language."""
    chain: list[str] = []
    if language:
        tag = language.replace("_", "-")
        lang, _, region = tag.partition("-")
        if region:
            chain.append(f"{lang.lower()}-{region.upper()}")
        chain.append(lang.lower())
    chain.append(default)
    return list(dict.fromkeys(chain))


class Picked(msgspec.Struct):
    channel: str
    locale: str  # the variant used
    variant: Variant
    missing_translation: bool  # the reader's language had no text: this is the clinic default's


def pick(content: Content, reply_channel: str, language: str | None, default: str) -> Picked | None:
    for channel in FOR_REPLY.get(reply_channel, ("chat", "sms")):
        by_locale = content.get(channel)  # type: ignore[call-overload]
        if not by_locale:
            continue
        chain = fallback_chain(language, default)
        for tag in chain:
            variant = by_locale.get(tag)
            if variant is not None and variant.body.strip():
                wanted = chain[0].split("-")[0]
                return Picked(channel, tag, variant, tag.split("-")[0] != wanted)
    return None


class Rendered(msgspec.Struct):
    subject: str | None
    body: str
    unresolved: list[str]
    sms: SmsInfo | None


def render_variant(channel: str, variant: Variant, values: dict[str, Any], reader: Reader) -> Rendered:
    reader = replace(reader, unresolved=[])
    subject = render(parse(variant.subject), values, reader) if channel == "email" and variant.subject else None
    body = render(parse(variant.body), values, reader)
    return Rendered(subject, body, reader.unresolved, sms_info(body) if channel == "sms" else None)
