"""Settings: grouped dataclasses, one environment variable per field, loaded once."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PUENTE_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in _env(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    # FULL: a commit acknowledged to a sender survives power loss, not only a crash.
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout_ms: int = 10_000  # how long a write waits for a lock held elsewhere
    echo: bool = False


@dataclass(frozen=True)
class RealtimeSettings:
    redis_url: str = ""  # empty: in-process memory backend
    channel_prefix: str = "puente"
    # Events a socket may have queued before it is cut off and told to resync.
    socket_queue: int = 1000
    # More than this many missed events on (re)connect: the client is told to reload.
    backfill_limit: int = 5000


@dataclass(frozen=True)
class SecuritySettings:
    secret: str = ""
    idle_timeout_s: int = 900
    secure_cookies: bool = False
    ingest_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClinicSettings:
    name: str = "Puente Demo Clinic"
    phone: str = "+16502530000"
    timezone: str = "America/Los_Angeles"
    default_language: str = "en"
    default_region: str = "US"  # for phone numbers written without a country code
    languages: tuple[str, ...] = ("en", "es")  # every published template speaks all of them


@dataclass(frozen=True)
class SmsSettings:
    """A Twilio-compatible SMS provider. Without an auth token, SMS webhooks refuse everything."""

    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    # The hub's URL as the provider calls it (behind a proxy it differs from what the hub sees);
    # signatures are computed over it. Empty: the URL of the request as received.
    public_url: str = ""


@dataclass(frozen=True)
class MediaSettings:
    """Media patients send (MMS photos, voice notes): fetched from the provider, kept under
    data_dir/media, served to staff only by the hub."""

    max_bytes: int = 5 * 1024 * 1024  # a larger file is refused, not stored
    timeout_s: float = 30.0  # one whole fetch, redirects included
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
    from_address: str = ""
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
    tls_cert_file: str = ""
    tls_key_file: str = ""
    require_tls: bool = False  # refuse mail (530) from senders that will not use STARTTLS
    from_address: str = ""  # replies come from it; empty: the relay's from address (smtp.from_address)
    from_name: str = ""  # empty: the clinic's name
    reply_domain: str = ""  # replies ask to be answered at reply+<token>@ it; empty: the from address's domain
    sendgrid_secret: str = ""  # the HTTP Basic password in SendGrid's Parse URL; empty: SendGrid posts refused
    mailgun_signing_key: str = ""  # Mailgun's webhook signing key; empty: Mailgun posts refused
    mailgun_max_age_s: int = 300  # an older signed timestamp is a replay: refused
    webhooks_per_minute: int = 600  # per IP address
    reopen_days: int = 7  # a reply this soon after resolution reopens the conversation; later, a new one


@dataclass(frozen=True)
class WebchatSettings:
    """The embeddable web-chat widget and its public endpoints."""

    # Origins (scheme://host[:port]) whose pages may embed the widget; empty: any origin.
    # Visitors authenticate with a bearer token, never a cookie, so an open list is no CSRF risk.
    allowed_origins: tuple[str, ...] = ()
    # The key the clinic's portal signs its logged-in users' ids with (HMAC-SHA256, hex).
    identity_secret: str = ""
    token_ttl_s: int = 30 * 86400
    max_text: int = 2000
    messages_per_minute: int = 20  # per visitor
    sessions_per_hour: int = 20  # per IP address
    codes_per_hour: int = 5  # one-time codes sent per visitor, and per destination
    code_ttl_s: int = 600
    code_attempts: int = 5


@dataclass(frozen=True)
class BotSettings:
    """The assistant that answers first. Off: every conversation starts with the agents."""

    enabled: bool = True
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
    retry_window_s: int = 6 * 3600
    max_backoff_s: int = 300
    provider_timeout_s: float = 10.0  # an answer slower than this is unclear: the provider is asked


@dataclass(frozen=True)
class RoutingSettings:
    """Hand-offs to people (hub/bot/routing.py, hub/bot/urgent.py), with the assistant on or off."""

    # An urgent conversation nobody has taken: staff are alerted again this often, each time a wider
    # circle (the emergency team, then the whole floor, then everyone signed in).
    realert_s: int = 60
    # What the clinic promises a patient when nobody of the team is free: a person replies within
    # this many minutes of the team's opening hours ("by 3:40 PM", "by Monday 8:40 AM").
    reply_within_minutes: int = 120


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
    retry_base_s: float = 5.0  # 5 s, 20 s, 80 s, ... between attempts
    uploads_per_hour: int = 30  # web-chat recordings per visitor


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_048_576
    bench_routes: bool = False  # the bare /bench/hello route bench/ compares against
    demo: bool = False  # seed the demo clinic on first start


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


def _secret(data_dir: Path) -> str:
    """A secret from the environment, else one made once and kept in the data dir."""
    if value := _env("SECRET", ""):
        return value
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _ingest_keys(data_dir: Path) -> tuple[str, ...]:
    """Integration keys from the environment, else one made once and kept in the data dir."""
    if keys := _env_list("INGEST_KEYS"):
        return keys
    path = data_dir / "ingest.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("pk_" + secrets.token_urlsafe(24))
        path.chmod(0o600)
    return (path.read_text().strip(),)


def _email_settings() -> EmailSettings:
    """The demo listens for mail on 127.0.0.1:2525 for clinic.example; elsewhere nothing by default."""
    demo = _env_bool("DEMO", False)
    return EmailSettings(
        domains=_env_list("EMAIL_DOMAINS") or (("clinic.example",) if demo else ()),
        listen_host=_env("EMAIL_LISTEN_HOST", "127.0.0.1"),
        listen_port=_env_int("EMAIL_LISTEN_PORT", 2525 if demo else 0),
        max_bytes=_env_int("EMAIL_MAX_BYTES", 25 * 1024 * 1024),
        tls_cert_file=_env("EMAIL_TLS_CERT", ""),
        tls_key_file=_env("EMAIL_TLS_KEY", ""),
        require_tls=_env_bool("EMAIL_REQUIRE_TLS", False),
        from_address=_env("EMAIL_FROM", "care@clinic.example" if demo else ""),
        from_name=_env("EMAIL_FROM_NAME", ""),
        reply_domain=_env("EMAIL_REPLY_DOMAIN", ""),
        sendgrid_secret=_env("EMAIL_SENDGRID_SECRET", ""),
        mailgun_signing_key=_env("EMAIL_MAILGUN_SIGNING_KEY", ""),
        mailgun_max_age_s=_env_int("EMAIL_MAILGUN_MAX_AGE", 300),
        webhooks_per_minute=_env_int("EMAIL_WEBHOOKS_PER_MINUTE", 600),
        reopen_days=_env_int("EMAIL_REOPEN_DAYS", 7),
    )


def load_settings() -> Settings:
    data_dir = Path(_env("DATA_DIR", "./data")).resolve()
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(
            url=_env("DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'puente.db'}"),
            sqlite_synchronous=_env("SQLITE_SYNCHRONOUS", "FULL"),
            sqlite_busy_timeout_ms=_env_int("SQLITE_BUSY_TIMEOUT_MS", 10_000),
            echo=_env_bool("DATABASE_ECHO", False),
        ),
        realtime=RealtimeSettings(
            redis_url=_env("REDIS_URL", ""),
            channel_prefix=_env("CHANNEL_PREFIX", "puente"),
            socket_queue=_env_int("SOCKET_QUEUE", 1000),
            backfill_limit=_env_int("BACKFILL_LIMIT", 5000),
        ),
        security=SecuritySettings(
            secret=_secret(data_dir),
            idle_timeout_s=_env_int("IDLE_TIMEOUT", 900),
            secure_cookies=_env_bool("SECURE_COOKIES", False),
            ingest_keys=_ingest_keys(data_dir),
        ),
        clinic=ClinicSettings(
            name=_env("CLINIC_NAME", "Puente Demo Clinic"),
            phone=_env("CLINIC_PHONE", "+16502530000"),
            timezone=_env("CLINIC_TIMEZONE", "America/Los_Angeles"),
            default_language=_env("DEFAULT_LANGUAGE", "en"),
            default_region=_env("DEFAULT_REGION", "US"),
            languages=_env_list("CLINIC_LANGUAGES") or ("en", "es"),
        ),
        sms=SmsSettings(
            account_sid=_env("TWILIO_ACCOUNT_SID", ""),
            auth_token=_env("TWILIO_AUTH_TOKEN", ""),
            from_number=_env("SMS_FROM", ""),
            api_base_url=_env("TWILIO_API_BASE_URL", "https://api.twilio.com"),
            public_url=_env("PUBLIC_URL", ""),
        ),
        media=MediaSettings(
            max_bytes=_env_int("MEDIA_MAX_BYTES", 5 * 1024 * 1024),
            timeout_s=float(_env("MEDIA_TIMEOUT", "30")),
            max_attempts=_env_int("MEDIA_MAX_ATTEMPTS", 5),
            allow_http=_env_bool("MEDIA_ALLOW_HTTP", False),
            auth_origins=_env_list("MEDIA_AUTH_ORIGINS"),
        ),
        smtp=SmtpSettings(
            host=_env("SMTP_HOST", ""),
            port=_env_int("SMTP_PORT", 587),
            username=_env("SMTP_USERNAME", ""),
            password=_env("SMTP_PASSWORD", ""),
            security=_env("SMTP_SECURITY", "starttls"),
            from_address=_env("SMTP_FROM", ""),
            ca_file=_env("SMTP_CA_FILE", ""),
        ),
        email=_email_settings(),
        webchat=WebchatSettings(
            allowed_origins=_env_list("WEBCHAT_ORIGINS"),
            identity_secret=_env("WEBCHAT_IDENTITY_SECRET", ""),
            token_ttl_s=_env_int("WEBCHAT_TOKEN_TTL", 30 * 86400),
            messages_per_minute=_env_int("WEBCHAT_MESSAGES_PER_MINUTE", 20),
            sessions_per_hour=_env_int("WEBCHAT_SESSIONS_PER_HOUR", 20),
            codes_per_hour=_env_int("WEBCHAT_CODES_PER_HOUR", 5),
        ),
        bot=BotSettings(
            enabled=_env_bool("BOT", True),
            failures_before_handoff=_env_int("BOT_FAILURES_BEFORE_HANDOFF", 2),
            default_team=_env("BOT_DEFAULT_TEAM", "scheduling"),
            emergency_team=_env("BOT_EMERGENCY_TEAM", "clinical"),
        ),
        outbox=OutboxSettings(
            retry_window_s=max(60, _env_int("OUTBOX_RETRY_WINDOW", 6 * 3600)),
            max_backoff_s=max(1, _env_int("OUTBOX_MAX_BACKOFF", 300)),
            provider_timeout_s=float(_env("OUTBOX_PROVIDER_TIMEOUT", "10")),
        ),
        routing=RoutingSettings(
            realert_s=max(1, _env_int("ROUTING_REALERT_S", 60)),
            reply_within_minutes=max(1, _env_int("ROUTING_REPLY_WITHIN_MINUTES", 120)),
        ),
        voice=VoiceSettings(
            max_bytes=_env_int("VOICE_MAX_BYTES", 8 * 1024 * 1024),
            max_seconds=_env_int("VOICE_MAX_SECONDS", 300),
            engine=_env("VOICE_ENGINE", "faster-whisper"),
            command=_env("VOICE_COMMAND", ""),
            workers=_env_int("VOICE_WORKERS", 1),
            threads=_env_int("VOICE_THREADS", 1),
            max_attempts=_env_int("VOICE_MAX_ATTEMPTS", 3),
            retry_base_s=float(_env("VOICE_RETRY_BASE", "5")),
            uploads_per_hour=_env_int("VOICE_UPLOADS_PER_HOUR", 30),
        ),
        server=ServerSettings(
            host=_env("HOST", "127.0.0.1"),
            port=_env_int("PORT", 8000),
            max_body_bytes=_env_int("MAX_BODY_BYTES", 1_048_576),
            bench_routes=_env_bool("BENCH_ROUTES", False),
            demo=_env_bool("DEMO", False),
        ),
    )
