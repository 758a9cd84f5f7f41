"""What signing in and changing one's own account do inside the writer's transaction: the second
step (a TOTP code never used before, or a recovery code), turning MFA on, a new password, a reset
code redeemed, one's preferences; each audited, a refusal recorded before it is answered."""

from __future__ import annotations

import hmac
from typing import Any, Literal

import msgspec
from sqlalchemy import select

from hub.agents import mfa
from hub.agents.roles import Principal
from hub.agents.sessions import principal_of
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Agent, RolePolicy
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.i18n import _
from hub.refusals import Refused, one_by_one


class MeChanges(msgspec.Struct, forbid_unknown_fields=True):
    """What staff may change about themselves; a field left out stays as it is."""

    ui_language: Literal["en", "es"] | None | msgspec.UnsetType = msgspec.UNSET  # None: the browser's


def mfa_required(s: Any, role: str) -> bool:
    policy = s.get(RolePolicy, role)
    return bool(policy and policy.mfa_required)


def apply_my_changes(tx: Tx, items: list[tuple[Principal, MeChanges, Origin]]) -> list[Principal | Exception]:
    out: list[Principal | Exception] = []
    for who, changes, origin in items:
        agent = tx.session.get(Agent, who.id)
        if agent is None or not agent.active:
            out.append(Refused(401, _("Sign in first.")))
            continue
        if changes.ui_language is not msgspec.UNSET:
            detail = {"ui_language": {"from": agent.ui_language, "to": changes.ui_language}}
            add_audit(tx, AuditRecord(AuditAction.AGENT_PREFERENCES, who.id, origin, detail=detail))
            agent.ui_language = changes.ui_language
        out.append(principal_of(agent))
    return out


def _pass_totp(tx: Tx, item: tuple[int, int, str, str, Origin]) -> tuple[Principal, int, int]:
    """The second step: a TOTP code never used before, or a recovery code (used up). Answers the
    principal, their epoch and how many recovery codes are left."""
    agent_id, epoch, code, secret, origin = item
    agent = tx.session.get(Agent, agent_id)
    if agent is None or not agent.active or agent.session_epoch != epoch or not agent.totp_secret:
        raise Refused(401, _("This sign-in has expired: start again."))
    step = mfa.totp_step(agent.totp_secret, code)
    if step is not None:
        if agent.totp_last_step is not None and step <= agent.totp_last_step:
            add_audit(tx, AuditRecord(AuditAction.MFA_FAILED, agent.id, origin, detail={"why": "replayed"}))
            raise Refused(401, _("This code was used already: wait for the next one."))
        agent.totp_last_step = step
        add_audit(tx, AuditRecord(AuditAction.LOGIN, agent.id, origin, detail={"mfa": "totp"}))
        return principal_of(agent), agent.session_epoch, len(agent.recovery_codes or [])
    left = mfa.use_recovery_code(secret, list(agent.recovery_codes or []), code)
    if left is None:
        add_audit(tx, AuditRecord(AuditAction.MFA_FAILED, agent.id, origin, detail={"why": "wrong"}))
        raise Refused(401, _("Wrong code."))
    agent.recovery_codes = left
    add_audit(tx, AuditRecord(AuditAction.LOGIN, agent.id, origin, detail={"mfa": "recovery_code", "left": len(left)}))
    return principal_of(agent), agent.session_epoch, len(left)


def _enrol(tx: Tx, item: tuple[int, int, str, str, str, Origin]) -> tuple[Principal, int, list[str]]:
    """Turn MFA on with a secret the person has proved they hold (a code from it, never used)."""
    agent_id, epoch, totp_secret, code, secret, origin = item
    agent = tx.session.get(Agent, agent_id)
    if agent is None or not agent.active or agent.session_epoch != epoch:
        raise Refused(401, _("This sign-in has expired: start again."))
    step = mfa.totp_step(totp_secret, code)
    if step is None:
        add_audit(tx, AuditRecord(AuditAction.MFA_FAILED, agent.id, origin, detail={"why": "enrol"}))
        raise Refused(400, _("Wrong code: type the 6 digits your app shows now."))
    codes, hashes = mfa.recovery_codes(secret)
    replaced = agent.totp_secret is not None
    agent.totp_secret, agent.totp_last_step, agent.recovery_codes = totp_secret, step, hashes
    agent.mfa_enrolled_at = utcnow()
    agent.session_epoch += 1  # sessions from before (perhaps someone else's) end; this one starts anew
    add_audit(tx, AuditRecord(AuditAction.MFA_ENROL, agent.id, origin, detail={"replaced": replaced}))
    return principal_of(agent), agent.session_epoch, codes


def _change_password(tx: Tx, item: tuple[int, str, Origin]) -> int:
    agent_id, password_hash, origin = item
    agent = tx.session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise Refused(401, _("Sign in first."))
    agent.password_hash, agent.password_changed_at = password_hash, utcnow()
    agent.session_epoch += 1  # every other session of theirs ends
    add_audit(tx, AuditRecord(AuditAction.PASSWORD_CHANGE, agent.id, origin))
    return agent.session_epoch


def _redeem_reset(tx: Tx, item: tuple[str, str, str, Origin]) -> int:
    login, code_digest, password_hash, origin = item
    agent = tx.session.execute(select(Agent).where(Agent.login == login)).scalar_one_or_none()
    now = utcnow()
    if agent is None or not agent.active or agent.reset_code_hash is None:
        raise Refused(400, _("This reset code is wrong or has been used."))
    if agent.reset_expires_at is None or agent.reset_expires_at < now:
        agent.reset_code_hash = agent.reset_expires_at = None
        add_audit(tx, AuditRecord(AuditAction.PASSWORD_RESET_FAILED, agent.id, origin, detail={"why": "expired"}))
        raise Refused(400, _("This reset code has expired: ask an administrator for a new one."))
    if not hmac.compare_digest(agent.reset_code_hash, code_digest):
        add_audit(tx, AuditRecord(AuditAction.PASSWORD_RESET_FAILED, agent.id, origin, detail={"why": "wrong"}))
        raise Refused(400, _("This reset code is wrong or has been used."))
    agent.password_hash, agent.password_changed_at = password_hash, now
    agent.reset_code_hash = agent.reset_expires_at = None
    agent.session_epoch += 1
    add_audit(tx, AuditRecord(AuditAction.PASSWORD_RESET_USED, agent.id, origin))
    return agent.id


# A refusal is its item's answer and the batch still commits: what a refused attempt recorded (its
# audit row, an expired code cleared) is kept.
pass_totp, enrol, change_password = one_by_one(_pass_totp), one_by_one(_enrol), one_by_one(_change_password)
redeem_reset = one_by_one(_redeem_reset)
