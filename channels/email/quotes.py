"""Quoted history and signatures, stripped from the text shown (the original stays viewable).

What mail clients put under a reply, in English and Spanish:
- Gmail, Apple Mail, Thunderbird: a line "On <date>, <name> <address> wrote:" ("El <fecha>, <nombre>
  escribió:"), often wrapped over two or three lines, then the old message, usually as "> " lines.
- Outlook: a rule of underscores or "-----Original Message-----" ("-----Mensaje original-----"),
  then a header block "From: / Sent: / To: / Subject:" ("De: / Enviado: / Para: / Asunto:"), then the
  old message, not quoted at all.
- Signatures: the standard "-- " line, and phones' "Sent from my iPhone" / "Enviado desde mi iPhone".
Everything from the first of these markers down is history. If that would leave nothing (a bare
forward), the whole text is kept. A forwarded message is content, not history: nothing is
stripped from it.
"""

from __future__ import annotations

import re

_WROTE = re.compile(
    r"^(?:On|El|Em|Le|Am)\s.{4,400}?\s(?:wrote|writes|escribió|escribio|escreveu|a écrit|schrieb)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RULE = re.compile(
    r"^\s*(?:-{3,}\s*(?:Original Message|Mensaje original|Reply message)"
    r"\s*-{3,}|_{10,}|-{10,})\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:From|De)\s*:\s*\*?\s*\S", re.IGNORECASE)
_HEADER = re.compile(r"^\s*\*?(?:Sent|Date|To|Cc|Subject|Enviado(?: el)?|Fecha|Para|CC|Asunto)\s*:", re.IGNORECASE)
_SIG_DELIMITER = re.compile(r"^--\s?$")
_MOBILE = re.compile(
    r"^\s*(?:Sent from my \S.{0,40}|Sent from (?:Outlook|Mail|Yahoo Mail|Gmail)\b.{0,40}|Get Outlook for \S.{0,30}"
    r"|Enviado desde mi \S.{0,40}|Enviado desde (?:Outlook|Correo|Yahoo Mail|Gmail)\b.{0,40}"
    r"|Obtener Outlook para \S.{0,30}|Descargar Outlook para \S.{0,30})\s*$",
    re.IGNORECASE,
)
SIGNATURE_MAX_LINES = 12  # a "-- " further from the end than this is content, not a signature


def _reply_header_at(lines: list[str], i: int) -> bool:
    """Line i starts an "On ... wrote:" header, maybe wrapped over up to three lines."""
    first = lines[i].strip()
    if not re.match(r"^(?:On|El|Em|Le|Am)\s", first, re.IGNORECASE):
        return False
    joined = first
    for j in range(i, min(i + 3, len(lines))):
        if j > i:
            joined += " " + lines[j].strip()
        if _WROTE.match(joined):
            return True
    return False


def _outlook_header_at(lines: list[str], i: int) -> bool:
    """Line i is "From: ..." followed closely by at least two more header lines."""
    if not _FROM.match(lines[i]):
        return False
    following = [line for line in lines[i + 1 : i + 7] if line.strip()]
    return sum(1 for line in following[:5] if _HEADER.match(line)) >= 2


def _history_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _RULE.match(stripped):
            rest = [ln for ln in lines[i + 1 : i + 4] if ln.strip()]
            if rest and (_FROM.match(rest[0]) or "original" in stripped.lower()):
                return i
        if _reply_header_at(lines, i) or _outlook_header_at(lines, i):
            return i
    # No header: a trailing block of "> " lines is still history.
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
        start -= 1
    if start < end and any(line.startswith(">") for line in lines[start:end]):
        return start
    return None


def _signature_start(lines: list[str]) -> int | None:
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    for i in range(max(0, end - SIGNATURE_MAX_LINES), end):
        if _SIG_DELIMITER.match(lines[i]):
            return i
    for i in range(end - 1, max(-1, end - 4), -1):  # "Sent from my iPhone" is one of the last lines
        if _MOBILE.match(lines[i]):
            return i
    return None


_FORWARD = re.compile(r"^\s*(?:Fwd?|FW|RV|Reenv(?:iado)?|TR|WG)\s*:", re.IGNORECASE)


def is_forward(subject: str) -> bool:
    return bool(_FORWARD.match(subject))


def strip_quotes(text: str, subject: str = "") -> tuple[str, bool]:
    """(the text the patient wrote this time, whether anything was stripped)."""
    if is_forward(subject):
        return text.strip(), False
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _history_start(lines)
    own = lines[:cut] if cut is not None else lines
    sig = _signature_start(own)
    if sig is not None:
        own = own[:sig]
    result = "\n".join(own).strip()
    if not result:
        return text.strip(), False
    return result, result != text.strip()
