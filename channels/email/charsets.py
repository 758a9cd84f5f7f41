"""Bytes into text as browsers read them (the WHATWG Encoding standard), for mail. Pure: no I/O.

- A label is read as the WHATWG standard reads it: ISO-8859-1, US-ASCII and their aliases mean
  Windows-1252 (Outlook labels Windows-1252 text ISO-8859-1: curly quotes, dashes and the euro
  sign are in the bytes 0x80-0x9F that ISO-8859-1 gives to control characters); ISO-8859-9 is
  Windows-1254, Shift_JIS is Windows-31J, EUC-KR is Windows-949, GB2312 is GBK, TIS-620 is
  Windows-874.
- Bytes that are valid UTF-8, with letters beyond ASCII, under a legacy label are UTF-8 (a webmail
  form posting UTF-8 under its page's old label): no Latin text is valid UTF-8 by chance.
- Invalid UTF-8 (labelled UTF-8, or unlabelled) that does not read as a Latin alphabet in
  Windows-1252 is what the bytes prove to be, when that is a script Windows-1252 cannot write
  (charset-normalizer's detection: Japanese, Chinese, Korean, Cyrillic, Greek, Hebrew, Arabic,
  Thai; taken only when its reading is clean and most of its letters are in that one script);
  else it is read as UTF-8 where it is valid and as Windows-1252 where it is not (the common case:
  a client that wrote Latin-1 and said UTF-8, or a reply that pasted Latin-1 into UTF-8).
- A reading with a U+FFFD or a C1 control character in it is not taken while a better one
  exists: under a legacy label, its Windows sibling (ISO-8859-2 → Windows-1250, ...), then
  UTF-8-else-1252, then detection as above. Only when nothing reads cleanly are the bad bytes
  replaced (U+FFFD), and that is noted.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

# WHATWG labels whose encoding differs from what Python's codec of that name reads.
_WINDOWS_1252 = {
    "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
    "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252",
    "x-cp1252", "us", "iso646-us", "csascii", "latin-1", "iso_8859_1", "8859_1",
}  # fmt: skip
_WHATWG = {
    **dict.fromkeys(_WINDOWS_1252, "cp1252"),
    **dict.fromkeys(
        ["iso-8859-9", "iso8859-9", "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "csisolatin5",
         "iso-ir-148", "windows-1254", "x-cp1254"], "cp1254"),
    **dict.fromkeys(["iso-8859-11", "iso8859-11", "iso885911", "tis-620", "dos-874", "windows-874"], "cp874"),
    **dict.fromkeys(
        ["shift_jis", "shift-jis", "sjis", "ms932", "ms_kanji", "csshiftjis", "windows-31j", "x-sjis"], "cp932"),
    **dict.fromkeys(
        ["euc-kr", "cseuckr", "csksc56011987", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
         "ksc5601", "ksc_5601", "windows-949"], "cp949"),
    **dict.fromkeys(
        ["gb2312", "chinese", "csgb2312", "csiso58gb231280", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
         "x-gbk"], "gb18030"),
    **dict.fromkeys(["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"], "big5hkscs"),
}  # fmt: skip
_NO_LABEL = {"", "unknown-8bit", "x-unknown", "unknown", "8bit", "default"}
# A legacy ISO label whose text shows C1 controls was written in its Windows sibling.
_WINDOWS_SIBLING = {
    "iso8859-2": "cp1250", "iso8859-4": "cp1257", "iso8859-5": "cp1251", "iso8859-6": "cp1256",
    "iso8859-7": "cp1253", "iso8859-8": "cp1255", "iso8859-13": "cp1257", "iso8859-15": "cp1252",
}  # fmt: skip
_WIDE = {"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-7"}
_BAD = re.compile(r"[\ufffd\x80-\x9f]")
_ERRORS = "puente.utf8-else-1252"
_LAST_RESORT = "puente.utf8-else-1252-else-replace"


def _utf8_else_1252(error: UnicodeError) -> tuple[str, int]:
    """Invalid UTF-8 sequences read as Windows-1252 (a byte 1252 leaves undefined still fails)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252"), error.end


def _utf8_else_1252_else_replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


codecs.register_error(_ERRORS, _utf8_else_1252)
codecs.register_error(_LAST_RESORT, _utf8_else_1252_else_replace)


def codec_of(label: str | None) -> str | None:
    """The Python codec that reads `label` as the WHATWG standard does; "" for no label; None for a
    label nobody knows."""
    name = (label or "").strip().strip("\"'").strip().lower()
    if name in _NO_LABEL:
        return ""
    if name in _WHATWG:
        return _WHATWG[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _clean(text: str) -> bool:
    return _BAD.search(text) is None


def _try(data: bytes, codec: str, errors: str = "strict") -> str | None:
    try:
        text = data.decode(codec, errors)
    except (UnicodeDecodeError, LookupError):
        return None
    return text if _clean(text) else None


_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI")


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    family = next((s for s in _SCRIPTS if name.startswith(s)), None)
    return "CJK" if family in ("HIRAGANA", "KATAKANA", "HANGUL") else family


def _one_other_script(text: str) -> bool:
    """A detector's reading is taken when it is text in a script Windows-1252 cannot write (what a
    wrong label most often hides): most of its letters in that one script. A few stray bytes in
    Latin text read as some script are no such thing (they are replaced instead)."""
    letters = [c for c in text if c.isalpha()]
    foreign = [c for c in letters if not c.isascii()]
    scripts = {_script(c) for c in foreign}
    return bool(foreign) and len(foreign) * 2 >= len(letters) and len(scripts) == 1 and None not in scripts


_LATIN_MARKS = set("¿¡«»“”‘’‚„–—…€£°ºª·×÷©®™•")
_WORD = re.compile(r"\S+")


def _plausibly_latin(text: str) -> bool:
    """Text in a Latin alphabet reads as such: each letter beyond ASCII sits in a word with ASCII
    letters ("mañana", "Ñoño"), besides common marks ("¿", "€", "“"). Another script read as
    Windows-1252 does not ("Ïðèâåò", "´ÙÀ½")."""
    odd = total = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        has_ascii_letter = any(c.isascii() and c.isalpha() for c in word)
        for c in word:
            if c.isascii():
                continue
            total += 1
            odd += not (c in _LATIN_MARKS or (c.isalpha() and has_ascii_letter))
    return odd * 10 <= total


def _detected(data: bytes) -> str | None:
    best = from_bytes(data).best()
    if best is None or not best.encoding:
        return None
    text = _try(data, best.encoding)
    return text if text and _one_other_script(text) else None


def decode(data: bytes, label: str | None) -> tuple[str, bool, bool]:
    """(the text, whether the label was unknown, whether bytes had to be replaced)."""
    codec = codec_of(label)
    unknown = codec is None
    if codec in (None, "", "utf-8"):
        text = _try(data, "utf-8")
        if text is None:
            latin = _try(data, "utf-8", _ERRORS)
            text = latin if latin is not None and _plausibly_latin(latin) else (_detected(data) or latin)
        if text is not None:
            return text, unknown, False
    else:
        if codec not in _WIDE and not data.isascii() and (text := _try(data, "utf-8")) is not None:
            return text, unknown, False  # UTF-8 under a legacy label
        text = _try(data, codec)
        if text is None and codec in _WINDOWS_SIBLING:
            text = _try(data, _WINDOWS_SIBLING[codec])
        text = text or _try(data, "utf-8", _ERRORS) or _detected(data)
        if text is not None:
            return text, unknown, False
    if codec in (None, "", "utf-8"):
        text = data.decode("utf-8", _LAST_RESORT)
    else:
        text = data.decode(codec, "replace")
    return _BAD.sub("\ufffd", text), unknown, True
