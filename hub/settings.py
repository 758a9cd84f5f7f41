"""Settings: grouped dataclasses, loaded once from the environment.

Every field has one environment variable, named after it: PUENTE_<GROUP>_<FIELD> (the group is its
name in `Settings`: PUENTE_SMS_AUTH_TOKEN is sms.auth_token, PUENTE_ROUTING_REALERT_S is
routing.realert_s), and PUENTE_DATA_DIR for the data folder. Each default is written once, on its
field. A field's earlier name still works (`formerly`), so a deployment made before the rename keeps
running; docs/configuration.md is generated from these classes (`python -m hub.settings`).
"""

from __future__ import annotations

import os
import secrets
import sys
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from channels.base import PuenteError


def setting(default: Any, *formerly: str, minimum: float | None = None) -> Any:
    """A field's default, the names its variable had before (without PUENTE_), and its smallest
    allowed value."""
    return field(default=default, metadata={"formerly": formerly, "minimum": minimum})


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # SQLAlchemy URL: postgresql+asyncpg://... ; empty: a SQLite file in the data folder
    # FULL: a commit acknowledged to a sender survives power loss, not only a crash.
    sqlite_synchronous: str = setting("FULL", "SQLITE_SYNCHRONOUS")
    sqlite_busy_timeout_ms: int = setting(
        10_000, "SQLITE_BUSY_TIMEOUT_MS"
    )  # how long a write waits for a lock held elsewhere
    echo: bool = False  # log every SQL statement (development only: statements carry patient data)


@dataclass(frozen=True)
class RealtimeSettings:
    redis_url: str = setting("", "REDIS_URL")  # empty: in-process memory backend
    channel_prefix: str = setting("puente", "CHANNEL_PREFIX")  # names the Redis channels (hubs of one clinic share it)
    # Events a socket may have queued before it is cut off and told to resync.
    socket_queue: int = setting(1000, "SOCKET_QUEUE")
    # More than this many missed events on (re)connect: the client is told to reload.
    backfill_limit: int = setting(5000, "BACKFILL_LIMIT")
    # An open conversation's "… is viewing" is said again this often; forgotten after twice that and 10 s more.
    viewing_every_s: float = setting(15.0, minimum=0.1)


@dataclass(frozen=True)
class SecuritySettings:
    # Signs sessions and visitor tokens; empty: one made at first start and kept in data_dir/secret.key.
    secret: str = setting("", "SECRET")
    idle_timeout_s: int = setting(900, "IDLE_TIMEOUT")  # an idle staff session ends (HIPAA automatic logoff)
    # Cookies only over HTTPS; on by itself when PUENTE_SERVER_PUBLIC_URL is https://.
    secure_cookies: bool = setting(False, "SECURE_COOKIES")
    # Integration keys for the API channel (comma-separated); empty: one kept in data_dir/ingest.key.
    ingest_keys: tuple[str, ...] = setting((), "INGEST_KEYS")
    password_min_length: int = setting(12, minimum=8)  # staff passwords; common ones are refused whatever their length
    reset_code_ttl_s: int = setting(24 * 3600, minimum=60)  # an admin's one-time password-reset code works this long
    break_glass_minutes: int = setting(30, minimum=1)  # access to a patient outside one's reach lasts this long
    # Failed sign-in steps (password, TOTP, reset code) allowed per address and per login in 5 minutes.
    max_failures: int = setting(10, minimum=1)


@dataclass(frozen=True)
class ClinicSettings:
    name: str = "Puente Demo Clinic"  # as patients are told it
    phone: str = "+16502530000"  # the clinic's phone, told to patients (HELP, templates)
    timezone: str = "America/Los_Angeles"  # opening hours, dates in messages
    default_language: str = setting("en", "DEFAULT_LANGUAGE")  # for a patient whose language is unknown
    default_region: str = setting("US", "DEFAULT_REGION")  # for phone numbers written without a country code
    languages: tuple[str, ...] = ("en", "es")  # every published template speaks all of them


@dataclass(frozen=True)
class SmsSettings:
    """A Twilio-compatible SMS provider. Without an auth token, SMS webhooks refuse everything."""

    account_sid: str = setting("", "TWILIO_ACCOUNT_SID")  # the provider account (Twilio: AC...)
    auth_token: str = setting("", "TWILIO_AUTH_TOKEN")  # signs webhooks and authenticates sends
    from_number: str = setting("", "SMS_FROM")  # the clinic's number
    api_base_url: str = setting("https://api.twilio.com", "TWILIO_API_BASE_URL")  # another Twilio-compatible provider
    # The hub's URL as the provider calls it (behind a proxy it differs from what the hub sees);
    # signatures are computed over it. Empty: the URL of the request as received.
    public_url: str = setting("", "PUBLIC_URL")


@dataclass(frozen=True)
class MediaSettings:
    """Media patients send (MMS photos, voice notes): fetched from the provider, kept under
    data_dir/media, served to staff only by the hub."""

    max_bytes: int = 5 * 1024 * 1024  # a larger file is refused, not stored
    timeout_s: float = setting(30.0, "MEDIA_TIMEOUT")  # one whole fetch, redirects included
    max_attempts: int = 5  # transient failures (5xx, timeouts) are retried with backoff
    retry_base_s: float = 1.0  # 1 s, 4 s, 16 s, ... between attempts
    # Plain-http media URLs are refused unless this is set (a local test provider only).
    allow_http: bool = False
    # Origins (scheme://host[:port]) that get the provider's credentials (HTTP Basic); empty:
    # the SMS API base URL's origin. Never sent to another host, redirects included.
    auth_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpSettings:
    """The relay outbound mail goes through. Without a host, nothing is sent by email."""

    host: str = ""
    port: int = 587
    username: str = ""
    password: str = ""
    security: str = "starttls"  # starttls, tls (implicit) or none
    from_address: str = setting("", "SMTP_FROM")
    timeout_s: float = 15.0
    ca_file: str = ""  # a CA bundle to trust for the relay's certificate (a private CA); empty: the system's


@dataclass(frozen=True)
class EmailSettings:
    """Inbound mail (the hub's SMTP listener, provider webhooks) and how replies are addressed."""

    # Domains mail is accepted for (others: 550). Empty: the reply domain and the from address's.
    domains: tuple[str, ...] = ()
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # the SMTP listener's port; 0: no listener
    max_bytes: int = 25 * 1024 * 1024  # a larger message is refused (SMTP 552, HTTP 413)
    # STARTTLS on the listener: a PEM certificate (chain) and its key. Mail carries patients' words:
    # senders that can encrypt (Gmail, Outlook...) do when it is offered.
    tls_cert_file: str = setting("", "EMAIL_TLS_CERT")
    tls_key_file: str = setting("", "EMAIL_TLS_KEY")
    require_tls: bool = False  # refuse mail (530) from senders that will not use STARTTLS
    from_address: str = setting(
        "", "EMAIL_FROM"
    )  # replies come from it; empty: the relay's from address (smtp.from_address)
    from_name: str = ""  # empty: the clinic's name
    reply_domain: str = ""  # replies ask to be answered at reply+<token>@ it; empty: the from address's domain
    sendgrid_secret: str = ""  # the HTTP Basic password in SendGrid's Parse URL; empty: SendGrid posts refused
    mailgun_signing_key: str = ""  # Mailgun's webhook signing key; empty: Mailgun posts refused
    mailgun_max_age_s: int = setting(300, "EMAIL_MAILGUN_MAX_AGE")  # an older signed timestamp is a replay: refused
    webhooks_per_minute: int = 600  # per IP address
    reopen_days: int = 7  # a reply this soon after resolution reopens the conversation; later, a new one


@dataclass(frozen=True)
class WebchatSettings:
    """The embeddable web-chat widget and its public endpoints."""

    # Origins (scheme://host[:port]) whose pages may embed the widget; empty: any origin.
    # Visitors authenticate with a bearer token, never a cookie, so an open list is no CSRF risk.
    allowed_origins: tuple[str, ...] = setting((), "WEBCHAT_ORIGINS")
    # The key the clinic's portal signs its logged-in users' ids with (HMAC-SHA256, hex).
    identity_secret: str = ""
    token_ttl_s: int = setting(30 * 86400, "WEBCHAT_TOKEN_TTL")
    max_text: int = 2000
    messages_per_minute: int = 20  # per visitor
    sessions_per_hour: int = 20  # per IP address
    codes_per_hour: int = 5  # one-time codes sent per visitor, and per destination
    code_ttl_s: int = 600
    code_attempts: int = 5


@dataclass(frozen=True)
class BotSettings:
    """The assistant that answers first. Off: every conversation starts with the agents."""

    enabled: bool = setting(True, "BOT")
    failures_before_handoff: int = 2  # not understood this many times in a row: a person takes over
    default_team: str = "scheduling"  # "talk to a person" with nothing else said
    emergency_team: str = "clinical"  # red flags go here, ahead of everyone

    @property
    def first_handler(self) -> str:
        return "bot" if self.enabled else "agent"


@dataclass(frozen=True)
class OutboxSettings:
    """Replies on their way out through the channels' providers (hub/outbox/)."""

    # A provider that keeps refusing (429, 503, unreachable) is retried this long after the message
    # was written, 1 s, 4 s, 16 s... apart but never more than max_backoff_s.
    retry_window_s: int = setting(6 * 3600, "OUTBOX_RETRY_WINDOW", minimum=60)
    max_backoff_s: int = setting(300, "OUTBOX_MAX_BACKOFF", minimum=1)
    provider_timeout_s: float = setting(
        10.0, "OUTBOX_PROVIDER_TIMEOUT", minimum=0.1
    )  # an answer slower than this is unclear: the provider is asked


@dataclass(frozen=True)
class RoutingSettings:
    """Hand-offs to people (hub/routing/queues.py, hub/routing/urgent.py), with the assistant on or off."""

    # An urgent conversation nobody has taken: staff are alerted again this often, each time a wider
    # circle (the emergency team, then the whole floor, then everyone signed in).
    realert_s: int = setting(60, minimum=1)
    # What the clinic promises a patient when nobody of the team is free: a person replies within
    # this many minutes of the team's opening hours ("by 3:40 PM", "by Monday 8:40 AM").
    reply_within_minutes: int = setting(120, minimum=1)


@dataclass(frozen=True)
class VoiceSettings:
    """Voice notes (hub/voice/): checked, made playable and transcribed offline in child processes."""

    max_bytes: int = 8 * 1024 * 1024  # a larger recording is refused (uploads) or not transcribed
    max_seconds: int = 300  # a longer one stays playable, but is not transcribed
    # faster-whisper (offline, English and Spanish, the model wheels pyproject.toml pins), pocketsphinx
    # (offline, English only, small), command (PUENTE_VOICE_COMMAND, a program on this machine), or
    # package.module:factory; see hub/voice/engines.py. Audio never leaves the machine by default.
    engine: str = "faster-whisper"
    command: str = ""
    workers: int = 1  # child processes transcribing at once (each takes `threads` CPU cores while busy)
    threads: int = 1  # CPU threads each child's engine uses
    max_attempts: int = 3  # a crashed or timed-out child is retried this many times in all
    retry_base_s: float = setting(5.0, "VOICE_RETRY_BASE")  # 5 s, 20 s, 80 s, ... between attempts
    uploads_per_hour: int = 30  # web-chat recordings per visitor


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "HOST")  # the address the hub listens on
    port: int = setting(8000, "PORT")  # its port
    # The hub's URL as staff and providers reach it (https://puente.clinic.example). https: cookies
    # are Secure and pages ask for HSTS; it is also the SMS provider's URL unless PUENTE_SMS_PUBLIC_URL says.
    public_url: str = ""
    max_body_bytes: int = setting(1_048_576, "MAX_BODY_BYTES")  # a larger request body is refused (413)
    bench_routes: bool = setting(False, "BENCH_ROUTES")  # the bare /bench/hello route bench/ compares against
    demo: bool = setting(False, "DEMO")  # seed the demo clinic on first start (and listen for its mail)


@dataclass(frozen=True)
class AdminSettings:
    """The first administrator, made at start (and by `puente create-admin`) when the hub has none.
    Nothing is done without a login; an existing admin is never changed."""

    login: str = ""  # the first admin's login; empty: none is made from the environment
    display_name: str = "Administrator"  # their name as staff see it
    password: str = ""  # prefer password_file (a Docker secret): a variable shows in `docker inspect`
    password_file: str = ""  # a file whose first line is the first admin's password


@dataclass(frozen=True)
class FhirSettings:
    """The EHR link (hub/patients/fhir/): patients and appointments read from a FHIR R4 server.
    SMART Backend Services (a JWT signed with the clinic's key traded for a token) or a bearer token."""

    base_url: str = ""  # the FHIR R4 base (https://ehr.example/fhir/r4); empty: no EHR link
    client_id: str = ""  # SMART Backend Services: the client id the EHR registered the public key under
    token_url: str = ""  # the token endpoint; empty: read from base_url/.well-known/smart-configuration
    private_key_file: str = ""  # the PEM private key that signs the client assertion (RSA or EC P-384)
    private_key: str = ""  # the same key as text (prefer the file: a variable shows in `docker inspect`)
    key_id: str = ""  # the kid of the public key in the JWKS registered with the EHR
    algorithm: str = "RS384"  # RS384 or ES384
    scope: str = "system/Patient.read system/Appointment.read"
    bearer_token: str = ""  # a static token instead of SMART (some EHR sandboxes, a proxy)
    page_size: int = setting(100, minimum=1)  # resources per search page (_count)
    # An import starts by itself this often (seconds); 0: only when an admin starts one.
    sync_interval_s: int = setting(0, minimum=0)
    timeout_s: float = setting(30.0, minimum=0.1)  # one request; a slower answer is retried like a 5xx
    max_attempts: int = setting(5, minimum=1)  # a request failing (5xx, 429, timeout) is tried this many times
    max_backoff_s: float = setting(30.0, minimum=0.0)  # the longest wait between two tries after a 5xx
    max_retry_after_s: float = setting(300.0, minimum=0.0)  # a longer Retry-After fails the import (resumable)
    allow_http: bool = False  # a plain-http base URL: a local test server only (patient data in clear)


@dataclass(frozen=True)
class ReportsSettings:
    """KPIs (hub/reports/, docs/kpis.md): when a patient handed to people is taken to have given up."""

    # SMS, email and the API channel: no staff reply this many hours after the hand-off is abandonment.
    abandon_after_hours: float = setting(24.0, minimum=0.01)
    # Web chat: a visitor silent this many minutes (and unanswered) is taken to have left the chat.
    webchat_left_after_minutes: float = setting(30.0, minimum=0.1)


@dataclass(frozen=True)
class CsatSettings:
    """The satisfaction question after resolution (hub/csat/, docs/routing.md). Off: never asked.
    Admins switch it off per channel in the hub (PUT /api/csat/channels)."""

    enabled: bool = setting(True, "CSAT")  # ask it at all (per channel: the admins' switches)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    realtime: RealtimeSettings = field(default_factory=RealtimeSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    clinic: ClinicSettings = field(default_factory=ClinicSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    webchat: WebchatSettings = field(default_factory=WebchatSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    fhir: FhirSettings = field(default_factory=FhirSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    csat: CsatSettings = field(default_factory=CsatSettings)

    @property
    def secure_cookies(self) -> bool:
        return self.security.secure_cookies or self.server.public_url.lower().startswith("https://")


def _secret(data_dir: Path, given: str) -> str:
    """The secret given, else one made once and kept in the data dir."""
    if given:
        return given
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _ingest_keys(data_dir: Path, given: tuple[str, ...]) -> tuple[str, ...]:
    """The integration keys given, else one made once and kept in the data dir."""
    if given:
        return given
    path = data_dir / "ingest.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("pk_" + secrets.token_urlsafe(24))
        path.chmod(0o600)
    return (path.read_text().strip(),)


class BadSetting(PuenteError, ValueError):
    """An environment variable whose value cannot be read; says which and why."""


def env_name(group: str, name: str) -> str:
    return f"PUENTE_{group.upper()}_{name.upper()}"


def _convert(raw: str, kind: Any, name: str) -> Any:
    try:
        if kind is bool:
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError("say 1 or 0 (true/false, yes/no, on/off)")
        if kind is int:
            return int(raw.strip())
        if kind is float:
            return float(raw.strip())
        if kind == tuple[str, ...]:
            return tuple(v.strip() for v in raw.split(",") if v.strip())
        return raw
    except ValueError as exc:
        raise BadSetting(f"{name}={raw!r}: {exc}") from None


def _group(cls: type, group: str, environ: typing.Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        names = [env_name(group, f.name), *(f"PUENTE_{n}" for n in f.metadata.get("formerly", ()))]
        name = next((n for n in names if n in environ), None)
        if name is None:
            continue
        value = _convert(environ[name], hints[f.name], name)
        minimum = f.metadata.get("minimum")
        if minimum is not None and value < minimum:
            raise BadSetting(f"{name}={value}: at least {minimum}")
        values[f.name] = value
    return cls(**values)


GROUPS = [f for f in fields(Settings) if f.name != "data_dir"]


def load_settings(environ: typing.Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    data_dir = Path(environ.get("PUENTE_DATA_DIR", "./data")).resolve()
    groups = {f.name: _group(typing.get_type_hints(Settings)[f.name], f.name, environ) for f in GROUPS}
    settings = Settings(data_dir=data_dir, **groups)
    db, security, email, sms = settings.database, settings.security, settings.email, settings.sms
    if not sms.public_url and settings.server.public_url:
        sms = replace(sms, public_url=settings.server.public_url)
    if not db.url:
        db = replace(db, url=f"sqlite+aiosqlite:///{data_dir / 'puente.db'}")
    security = replace(
        security,
        secret=_secret(data_dir, security.secret),
        ingest_keys=_ingest_keys(data_dir, security.ingest_keys),
    )
    if settings.server.demo:  # the demo clinic takes mail for clinic.example on 127.0.0.1:2525
        demo = {"domains": ("clinic.example",), "listen_port": 2525, "from_address": "care@clinic.example"}
        given = {f.name for f in fields(EmailSettings) if _group_has(environ, "email", f)}
        email = replace(email, **{k: v for k, v in demo.items() if k not in given})
    return replace(settings, database=db, security=security, email=email, sms=sms)


def _group_has(environ: typing.Mapping[str, str], group: str, f: Any) -> bool:
    names = [env_name(group, f.name), *(f"PUENTE_{n}" for n in f.metadata.get("formerly", ()))]
    return any(n in environ for n in names)


def _comments(cls: type) -> dict[str, str]:
    """What the source says of each field: its trailing comment, else the comment lines above it."""
    import inspect

    out: dict[str, str] = {}
    above: list[str] = []
    for line in inspect.getsource(cls).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
            continue
        name, colon, rest = stripped.partition(":")
        if colon and name.isidentifier():
            trailing = rest.partition("  # ")[2].strip()
            out[name] = trailing or " ".join(above)
        above = []
    return out


def describe() -> str:
    """docs/configuration.md: every variable, its default, its former name, from the classes."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable, named after its group and field (generated by",
        "`python -m hub.settings` from `hub/settings.py`; do not edit by hand). Lists are comma-separated;",
        "yes/no settings take 1 or 0. A former name still works.",
        "",
        "| variable | default | what it is | formerly |",
        "|---|---|---|---|",
        "| `PUENTE_DATA_DIR` | `./data` | the database (SQLite), media, secrets | |",
    ]
    for g in GROUPS:
        cls = typing.get_type_hints(Settings)[g.name]
        said = _comments(cls)
        for f in fields(cls):
            default = f.default if f.default is not MISSING else ""
            shown = ",".join(default) if isinstance(default, tuple) else default
            shown = {True: "1", False: "0"}.get(shown, shown) if isinstance(shown, bool) else shown
            former = ", ".join(f"`PUENTE_{n}`" for n in f.metadata.get("formerly", ()))
            what = said.get(f.name, "").replace("|", "/")
            lines.append(f"| `{env_name(g.name, f.name)}` | `{shown}` | {what} | {former} |".replace("``", "(empty)"))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(describe())
