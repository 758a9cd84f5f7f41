"""argon2id password hashes, and what a new password must be: long enough and not a common one.

No composition rules (NIST SP 800-63B): a length, and a check against the 30,000 most common
passwords, the list zxcvbn 4.5.0 (MIT, pinned in pyproject.toml) ships as its "passwords" frequency
list (from Mark Burnett's 10 million password corpus as Xato published it), plus the account's own
login and name.
"""

from __future__ import annotations

import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.i18n import _

_hasher = PasswordHasher()
# Verifying against this when the login is unknown keeps the timing the same.
_DUMMY = _hasher.hash("not-a-real-password")
MAX_LENGTH = 200


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _folded(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def password_problem(password: str, min_length: int, *context: str) -> tuple[str, dict[str, object]] | None:
    """Why `password` cannot be used (a catalog message and its placeholders), or None. `context`: the
    account's login and name, which a password must not be."""
    if len(password) < min_length:
        return _("A password needs at least {n} characters."), {"n": min_length}
    if len(password) > MAX_LENGTH:
        return _("A password can have at most {n} characters."), {"n": MAX_LENGTH}
    folded = _folded(password)
    common = common_passwords()
    # "Password123!" is "password123" with decoration: a common password still
    stem = re.sub(r"\d+$", "", folded)
    decorated = len(stem) >= 4 and stem in common and len(folded) - len(stem) <= 4
    if password.lower() in common or folded in common or decorated:
        return _("This password is one of the most common ones: choose another."), {}
    for word in context:
        w = _folded(word)
        if len(w) >= 3 and w in folded and len(folded) - len(w) <= 4:
            return _("A password must not be your login or your name."), {}
    if len(set(password)) < 4:
        return _("This password repeats too few characters: choose another."), {}
    return None
