"""Quoted history and signatures, taken out of the text shown (the original stays viewable).

The rule: history goes only where it is recognisably history; the patient's words never go; when
in doubt, the text stays. tests/data/email_replies/ holds the reply shapes this is measured on.

What is recognised as history, in English and Spanish:
- A client's attribution line, "On <date>, <name> <address> wrote:" ("El <fecha>, <nombre>
  escribió:"), often wrapped over two or three lines or glued to the address, followed by the old
  message as "> " lines (Gmail, Apple Mail, Thunderbird, Yahoo, Proton; iPhone puts the line inside
  the quote). An attribution is recognised only when a program wrote it: it carries a date with a
  time or an address ("On Monday my doctor wrote:" is the patient's own prose, and stays).
  - Quoted lines after the patient's last words (top-posting) go, with the attribution.
  - One quoted block with the patient's words below it (bottom-posting) goes, with its attribution;
    the words above and below stay.
  - Several quoted blocks with words between them are answers given inline: the quoted questions
    stay (the answers need them); only the attribution and the quoted rest after the last answer go.
  - Quoted lines with no recognised attribution stay (a patient's "> 150/95" readings, a quote).
- An unquoted original, to the end of the text: Outlook's "From:/Sent:/To:/Subject:" block
  ("De:/Enviado:/Para:/Asunto:"), with or without a rule or "-----Original Message-----" above it
  (a From line with an address, a Sent line or a rule: a pasted "From: CVS Pharmacy / Date: /
  Subject:" is content); an attribution with an address and a date followed by unquoted text
  (Yahoo); any recognised attribution or header block right after "Sent from my iPhone". Not when
  the patient says the answers are in the text ("see my answers below", "le contesto entre
  líneas"): then nothing is taken.
- Signatures: what follows the standard "-- " line (up to 12 lines, to the end or to the history);
  a phone's or client's line ("Sent from my iPhone", "Enviado desde mi iPhone", "Get Outlook for
  Android", "Sent with Proton Mail") when it is the last thing the patient wrote. A bare "--" is a
  patient's separator, not a signature.
If nothing would be left (a bare forward, a memo that starts with "From:"), the whole text is
kept. A forwarded message (subject "Fwd:") is content, not history: nothing is taken from it.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^(?:(?:On|El|Em|Le|Am)\s.{4,400}?|[^\s<>:][^<>:]{0,120}<[^<>\s]+@[^<>\s]+>)"
    r"(?:\s+|(?<=[>)\"»]))(?:wrote|writes|escribió|escribio|escreveu|a écrit|schrieb)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")
_TIME = re.compile(r"\b\d{1,2}:\d\d\b")
_RULE = re.compile(
    r"^\s*(?:-{3,}\s*(?:Original Message|Mensaje original|Reply message|Mensaje de respuesta)\s*-{3,}"
    r"|_{10,}|-{10,})\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:From|De)\s*:\s*\*?\s*\S", re.IGNORECASE)
_HEADER = re.compile(r"^\s*\*?(?:Sent|Date|To|Cc|Subject|Enviado(?: el)?|Fecha|Para|CC|Asunto)\s*:", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(?:Sent|Enviado(?: el)?)\s*:", re.IGNORECASE)
_SIG_DELIMITER = "-- "
SIGNATURE_MAX_LINES = 12  # a "-- " further from the history or the end than this is content
_MOBILE = re.compile(
    r"^\s*(?:Sent from my \S.{0,40}|Sent from (?:Outlook|Mail|Yahoo Mail|Gmail|Proton Mail)\b.{0,40}"
    r"|Sent with Proton Mail\b.{0,40}|Get Outlook for \S.{0,40}"
    r"|Enviado desde mi \S.{0,40}|Enviado desde (?:Outlook|Correo|Yahoo Mail|Gmail|Proton Mail)\b.{0,40}"
    r"|Enviado con Proton Mail\b.{0,40}|Obtener Outlook para \S.{0,40}|Descargar Outlook para \S.{0,40})\s*$",
    re.IGNORECASE,
)
# The patient says the answers are inside the old message (Outlook users answer in colour).
_ANSWERS_INSIDE = re.compile(
    r"\b(?:below|inline|in line|between the lines|in (?:red|blue|green|bold|caps)"
    r"|abajo|debajo|entre l[ií]neas|en (?:rojo|azul|verde|negrita|may[uú]sculas))\b",
    re.IGNORECASE,
)
_FORWARD = re.compile(r"^\s*(?:Fwd?|FW|RV|Reenv(?:iado)?|TR|WG)\s*:", re.IGNORECASE)


def is_forward(subject: str) -> bool:
    return bool(_FORWARD.match(subject))


def _is_quoted(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _unquote(line: str) -> str:
    return re.sub(r"^(?:\s*>)+ ?", "", line)


def _attribution_at(lines: list[str], i: int, quoted: bool = False) -> tuple[int, bool, bool] | None:
    """(lines it spans, recognised, strong) when an attribution starts at line i."""
    first = _unquote(lines[i]) if quoted else lines[i]
    joined = first.strip()
    if not joined:
        return None
    for j in range(i, min(i + 3, len(lines))):
        if j > i:
            if quoted != _is_quoted(lines[j]):
                return None
            nxt = (_unquote(lines[j]) if quoted else lines[j]).strip()
            if not nxt:
                return None
            joined += " " + nxt
        if _ATTRIBUTION.match(joined):
            dated = bool(_YEAR.search(joined) or _NUMERIC_DATE.search(joined))
            addressed = bool(_ADDRESS.search(joined))
            recognised = addressed or (dated and bool(_TIME.search(joined)))
            return j - i + 1, recognised, addressed and (dated or bool(_TIME.search(joined)))
    return None


def _header_block_at(lines: list[str], i: int, quoted: bool = False) -> bool:
    """Line i starts a mail client's header block over an original message (or its rule)."""
    text = [(_unquote(line) if quoted else line) for line in lines[i : i + 9]]
    if _RULE.match(text[0]):
        if any(word in text[0].lower() for word in ("original", "respuesta", "reply")):
            return True
        rest = [k for k in range(1, min(4, len(text))) if text[k].strip()]
        return bool(rest) and bool(_FROM.match(text[rest[0]])) and _headers_follow(text, rest[0])
    if not _FROM.match(text[0]):
        return False
    following = [t for t in text[1:7] if t.strip()][:5]
    if sum(1 for t in following if _HEADER.match(t)) < 2:
        return False
    from_line = text[0]
    return bool(_ADDRESS.search(from_line) or "mailto:" in from_line.lower() or any(_SENT.match(t) for t in following))


def _headers_follow(text: list[str], k: int) -> bool:
    """After a rule: a From line and at least two more header lines."""
    following = [t for t in text[k + 1 : k + 7] if t.strip()][:5]
    return sum(1 for t in following if _HEADER.match(t)) >= 2


def _next_nonblank(lines: list[str], i: int, end: int | None = None) -> int | None:
    end = len(lines) if end is None else end
    while i < end:
        if lines[i].strip():
            return i
        i += 1
    return None


def _unquoted_history(lines: list[str]) -> int | None:
    """Where an unquoted original begins (it runs to the end), if anywhere."""
    for i, line in enumerate(lines):
        if not line.strip() or _is_quoted(line):
            continue
        if _header_block_at(lines, i):
            return i
        found = _attribution_at(lines, i)
        if found is not None:
            span, recognised, strong = found
            after = _next_nonblank(lines, i + span)
            if after is not None and not _is_quoted(lines[after]) and strong:
                return i
        if _MOBILE.match(line):  # "Sent from my iPhone", then the original
            after = _next_nonblank(lines, i + 1)
            if after is not None and not _is_quoted(lines[after]):
                if _header_block_at(lines, after):
                    return i
                found = _attribution_at(lines, after)
                if found is not None and found[1]:
                    original = _next_nonblank(lines, after + found[0])
                    if original is not None and not _is_quoted(lines[original]):
                        return i
    return None


def _own_text(lines: list[str]) -> list[str]:
    n = len(lines)
    drop = [False] * n
    cut = _unquoted_history(lines)
    if cut is not None:
        before = "\n".join(line for line in lines[:cut] if not _is_quoted(line))
        if _ANSWERS_INSIDE.search(before):
            cut = None
    end = n if cut is None else cut
    for i in range(end, n):
        drop[i] = True

    # Attributions outside quotes, and quoted blocks (blank lines inside a block belong to it).
    attribution = [False] * n
    recognised_at: dict[int, bool] = {}
    i = 0
    while i < end:
        if lines[i].strip() and not _is_quoted(lines[i]):
            found = _attribution_at(lines, i)
            if found is not None:
                for k in range(i, min(i + found[0], end)):
                    attribution[k] = True
                    recognised_at[k] = found[1]
                i += found[0]
                continue
        i += 1
    unquoted = [_unquote(line) if _is_quoted(line) else line for line in lines]
    blocks: list[tuple[int, int]] = []  # [start, stop) of quoted lines
    i = 0
    while i < end:
        if _is_quoted(lines[i]):
            stop = i + 1
            while stop < end:
                if _is_quoted(lines[stop]):
                    stop += 1
                    continue
                nxt = _next_nonblank(lines, stop, end)
                if nxt is not None and _is_quoted(lines[nxt]):
                    stop = nxt
                    continue
                break
            blocks.append((i, stop))
            i = stop
        else:
            i += 1

    def block_attribution(start: int) -> tuple[list[int], bool]:
        """The attribution of a quoted block: the line(s) just above it, or its own first lines."""
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and attribution[k]:
            top = k
            while top > 0 and attribution[top - 1]:
                top -= 1
            return list(range(top, k + 1)), recognised_at.get(top, False)
        first = _next_nonblank(unquoted, start, end)
        if first is not None:
            found = _attribution_at(lines, first, quoted=True)
            if found is not None:
                span = list(range(first, first + found[0]))
                k = first + found[0]
                while k < end and _is_quoted(lines[k]) and not unquoted[k].strip():
                    span.append(k)  # the empty quoted lines under it
                    k += 1
                return span, found[1]
            if _header_block_at(lines, first, quoted=True):
                return [], True
        return [], False

    # Signatures: "-- " and what follows it, up to the history or the end.
    signature = [False] * n
    for s in range(end):
        if lines[s] == _SIG_DELIMITER:
            stop = s + 1
            while stop < end and not _is_quoted(lines[stop]) and not attribution[stop]:
                stop += 1
            if sum(1 for line in lines[s + 1 : stop] if line.strip()) <= SIGNATURE_MAX_LINES:
                for k in range(s, stop):
                    signature[k] = True
                break

    def own(k: int) -> bool:
        return bool(lines[k].strip()) and not _is_quoted(lines[k]) and not attribution[k] and not signature[k]

    own_lines = [k for k in range(end) if own(k)]
    if own_lines and _MOBILE.match(lines[own_lines[-1]]):
        signature[own_lines[-1]] = True
        own_lines.pop()
    last_own = own_lines[-1] if own_lines else -1

    attributed = [block_attribution(start) for start, _ in blocks]
    under_attribution = bool(blocks) and attributed[0][1]
    answered = [b for b, (start, _) in enumerate(blocks) if start < last_own]
    for b, (start, stop) in enumerate(blocks):
        lines_of_attr, recognised = attributed[b]
        history = recognised or under_attribution
        if not history:
            continue
        if start > last_own or len(answered) == 1:  # the quoted rest, or a bottom-post's history
            for k in [*range(start, stop), *lines_of_attr]:
                drop[k] = True
        else:  # answers given inline: the questions stay, the attribution goes
            for k in lines_of_attr:
                drop[k] = True
    for k in range(end):
        if signature[k]:
            drop[k] = True
        if attribution[k] and k > last_own and recognised_at.get(k, False):
            drop[k] = True  # an attribution left over the history it introduced
    return [line for k, line in enumerate(lines) if not drop[k]]


def strip_quotes(text: str, subject: str = "") -> tuple[str, bool]:
    """(the text the patient wrote this time, whether anything was taken out)."""
    whole = text.strip()
    if is_forward(subject):
        return whole, False
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _own_text(lines)
    result = re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", "\n".join(kept)).strip()
    if not result or result == re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", whole):
        return whole, False
    return result, True
