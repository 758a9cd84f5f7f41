"""HTML mail: sanitised for display (nh3), and turned into text for the timeline. Pure functions.

The text conversion is our own small pass over the standard library's HTML parser rather than a
library, because it must also know which parts are quoted history: Gmail's `gmail_quote`, Apple
Mail's and Thunderbird's `<blockquote type="cite">` (a blockquote without it is the writer's own
indenting, kept), Outlook's `divRplyFwdMsg` (after which everything is the previous message),
Yahoo's `yahoo_quoted`. It returns the whole text and the
text without those parts; the caller strips the rest (reply headers, signatures) as plain text.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

SKIPPED = {"head", "script", "style", "title", "template", "noscript", "xml"}
BLOCKS = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
QUOTE_CLASSES = {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote"}
SIGNATURE_CLASSES = {"gmail_signature", "moz-signature"}
# Outlook (web and desktop) marks where the previous message begins; the history follows as siblings.
HISTORY_IDS = {"divrplyfwdmsg", "appendonsend", "stopspelling", "divrplyfwdmsg_", "mail-editor-reference-message"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.full: list[str] = []
        self.own: list[str] = []  # without quoted history and marked signatures
        self.stack: list[tuple[str, bool, bool]] = []  # tag, skipped, quoted
        self.history = False  # past Outlook's marker: the rest is the previous message
        self.pre = 0

    @property
    def _skipped(self) -> bool:
        return any(s for _, s, _ in self.stack)

    @property
    def _quoted(self) -> bool:
        return self.history or any(q for _, _, q in self.stack)

    def _emit(self, text: str) -> None:
        if self._skipped:
            return
        self.full.append(text)
        if not self._quoted:
            self.own.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = set(a.get("class", "").lower().split())
        element_id = a.get("id", "").lower()
        if element_id in HISTORY_IDS or (tag == "hr" and element_id == "stopspelling"):
            self.history = True
        if tag in BLOCKS:
            self._emit("\n")
        if tag == "br":
            self._emit("\n")
        elif tag == "li":
            self._emit("- ")
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag == "img" and a.get("alt", "").strip() and not self._skipped:
            self._emit(f"[{a['alt'].strip()}]")
        if tag in VOID:
            return
        quoted = (
            # A blockquote a client made for the old message; a plain one is the writer's own
            # indenting (Gmail's "Indent more"), and stays.
            (tag == "blockquote" and (a.get("type", "").lower() == "cite" or "gmail_quote" in classes))
            or bool(classes & QUOTE_CLASSES)
            or bool(classes & SIGNATURE_CLASSES)
        )
        if tag == "pre":
            self.pre += 1
        self.stack.append((tag, tag in SKIPPED, quoted))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        else:
            return  # a stray end tag: ignore it, as browsers do
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in BLOCKS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        self._emit(data if self.pre else re.sub(r"\s+", " ", data))


def _tidy(parts: list[str]) -> str:
    lines = [line.strip() for line in "".join(parts).replace("\xa0", " ").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(the whole text, the text without quoted history and marked signatures)."""
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - the stdlib parser is lenient; keep whatever it read
        pass
    return _tidy(parser.full), _tidy(parser.own)


def _filter(tag: str, attr: str, value: str) -> str | None:
    """Remote images in mail are trackers (they tell the sender when and where it was read): only
    images carried in the message itself stay. data: URLs are for those images only."""
    is_data = value.strip().lower().startswith("data:")
    if tag == "img" and attr == "src":
        return value if value.strip().lower().startswith("data:image/") else None
    return None if is_data else value


# Images the message carries, drawn where its HTML puts them (src="cid:..."), as data: URLs: the
# sanitised page may load nothing. Only what the bytes prove is an image, and not too much of it.
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
MAX_INLINE_IMAGE = 2 * 1024 * 1024
MAX_INLINE_TOTAL = 8 * 1024 * 1024
_CID = re.compile(r"""(["'])cid:([^"'\s>]+)\1""", re.IGNORECASE)


def image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in IMAGE_MAGIC if data.startswith(magic)), None)


def inline_images(html: str, images: dict[str, bytes]) -> str:
    """html with each `cid:` reference to one of `images` (by Content-ID) made a data: URL; any
    other is left as it is, for the sanitiser to drop."""
    budget = MAX_INLINE_TOTAL

    def swap(m: re.Match[str]) -> str:
        nonlocal budget
        data = images.get(unquote(m.group(2)))
        kind = image_type(data) if data else None
        if data is None or kind is None or len(data) > min(MAX_INLINE_IMAGE, budget):
            return m.group(0)
        budget -= len(data)
        return f"{m.group(1)}data:{kind};base64,{base64.b64encode(data).decode()}{m.group(1)}"

    return _CID.sub(swap, html) if images else html


def sanitise(html: str) -> str:
    """Safe to show: no scripts, styles, event handlers, forms, remote images or non-web links."""
    return nh3.clean(
        html,
        clean_content_tags={"script", "style", "title"},
        url_schemes={"http", "https", "mailto", "tel", "data"},
        attribute_filter=_filter,
    )
