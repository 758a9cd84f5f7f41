"""Voice notes end to end, with real speech: espeak-ng says a known sentence at test time, PyAV encodes
it in the containers and codecs patients' phones and browsers send, and each source (an MMS through
the signed SMS webhook, a voicemail recording callback, a web-chat upload) is driven into a real hub.
The note is on the timeline at once, checked (measured, made playable everywhere) and transcribed
in the background by the default engine (faster-whisper, Whisper base), and agents see each step
live. Transcripts are asserted to hold
the sentence's key words, never an exact string. Failures end with a reason, the note still
playable and the worker still working; a restart, or a hub that died, resumes the work."""

from __future__ import annotations

import sqlite3
import time
import uuid
from array import array
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hub.media.sniff import sniff
from hub.settings import MediaSettings, Settings, VoiceSettings
from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff
from tests.support.media_server import MediaServer, png
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.speech import (
    EMERGENCIA,
    EMERGENCY,
    GERMAN,
    GERMAN_VOICE,
    LONG_SENTENCE,
    SENTENCE,
    SPANISH,
    SPANISH_KEY_WORDS,
    SPANISH_VOICE,
    VOICE,
    content_type,
    corrupt_ogg,
    encode_wav,
    encoded,
    formats,
    has_key_words,
    need_espeak,
    spoken,
    words,
)
from tests.support.stream import StreamClient
from tests.support.webchat import VisitorClient

CALLER = "+16505550177"  # a new patient: no language on record
BROWSER_PLAYS = {"audio/mpeg", "audio/mp4", "audio/wav"}  # kept as they are; the rest also get an AAC/MP4 copy
ENGINE = "faster-whisper:whisper-base"


@pytest.fixture(autouse=True)
def _espeak() -> None:
    need_espeak()


@pytest.fixture
def media():
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


def voice_settings(
    tmp_path, media: MediaServer, db_url: str | None = None, bot: bool = False, **voice: object
) -> Settings:
    settings = hub_settings(tmp_path, db_url=db_url, bot=bot)
    options = {"workers": 2, "retry_base_s": 0.2, **voice}
    return replace(
        settings,
        sms=replace(settings.sms, api_base_url=media.url),
        media=MediaSettings(max_bytes=2 * 1024 * 1024, timeout_s=5, max_attempts=2, retry_base_s=0.2, allow_http=True),
        voice=VoiceSettings(**options),  # type: ignore[arg-type]
    )


@pytest.fixture
def voice_hub(tmp_path, media):
    srv = HubServer(voice_settings(tmp_path, media)).start()
    yield srv
    srv.stop()


def open_stream(srv: HubServer, staff: Staff) -> StreamClient:
    stream = StreamClient(srv.ws_url, staff, after=staff.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    return stream


def transcripts(stream: StreamClient, count: int, timeout: float = 60) -> dict[int, dict]:
    """Transcript events on the stream until `count` notes have theirs: media id -> event."""
    deadline = time.monotonic() + timeout
    got: dict[int, dict] = {}
    while len(got) < count:
        frame = stream.recv(timeout=max(0.1, deadline - time.monotonic()))
        event = frame.get("event") or {}
        if frame["type"] == "event" and event["kind"] == "transcript":
            got[event["data"]["media_id"]] = event
    return got


def stream_events(stream: StreamClient, kind: str) -> dict[int, dict]:
    return {f["event"]["data"]["media_id"]: f["event"] for f in stream.events if f["event"]["kind"] == kind}


def mms(http: httpx.Client, sid: str, items: list[tuple[str, str]], sender: str = CALLER) -> httpx.Response:
    extra = {"NumMedia": str(len(items))}
    for n, (url, declared) in enumerate(items):
        extra[f"MediaUrl{n}"], extra[f"MediaContentType{n}"] = url, declared
    return _post(http, "/api/channels/sms/inbound", _fields(sid, "", sender=sender, **extra))


def upload(visitor: VisitorClient, body: bytes, declared: str, client_id: str | None = None, **query: str):
    params = {"id": client_id or f"m-{uuid.uuid4().hex}", **query}
    return visitor.http.post(
        "/api/webchat/voice", params=params, content=body, headers={**visitor.auth, "content-type": declared}
    )


def message(staff: Staff, patient_id: int, seq: int) -> dict:
    events = staff.get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["seq"] == seq)


def db_rows(srv: HubServer, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return db.execute(sql, args).fetchall()


def test_mms_voice_notes_in_every_format_are_transcribed_live(voice_hub, media):
    sofia = Staff(voice_hub.base_url, "sofia")
    stream = open_stream(voice_hub, sofia)
    names = formats()
    assert {"ogg", "amr", "amr-7.95", "mp3", "mp3-8k", "m4a", "wav", "wav-8k", "webm"} == set(names)
    items = [(media.add(f"ME_{name}", encoded(name), content_type(name)), content_type(name)) for name in names]
    http = httpx.Client(base_url=voice_hub.base_url, timeout=10)
    r = mms(http, "MMvoice0001", items)
    assert r.status_code == 200 and b"<Response>" in r.content  # acknowledged once committed

    got = transcripts(stream, len(names))
    checked = stream_events(stream, "voice_note")
    first = next(f["event"] for f in stream.events if f["event"]["kind"] == "message_in")
    assert first["text"] is None and first["channel"] == "sms"
    media_ids = [a["media_id"] for a in first["attachments"]]
    speech_s = len(spoken()) / 2 / 22050  # espeak-ng's 22.05 kHz 16-bit mono, less its 44-byte header
    for name, media_id in zip(names, media_ids, strict=True):
        event = got[media_id]
        assert event["data"]["state"] == "done", (name, event["data"])
        assert has_key_words(event["text"]), (name, event["text"])
        assert event["author_type"] == "system" and event["channel"] == "sms"
        assert event["data"]["engine"] == ENGINE and event["data"]["language"] == "en", (name, event["data"])
        assert 0.5 <= event["data"]["confidence"] <= 1 and event["data"]["low_confidence"] is False, name
        segments = event["data"]["segments"]  # each part with its own confidence, in time order
        assert segments and all(0 <= seg["confidence"] <= 1 and seg["start"] < seg["end"] for seg in segments)
        assert " ".join(seg["text"] for seg in segments) == event["text"]
        note = checked[media_id]  # checked before transcribed: the player and its length came first
        assert note["seq"] < event["seq"] and note["data"]["message_seq"] == first["seq"]
        assert abs(note["data"]["duration_s"] - speech_s) < 0.35, (name, note["data"]["duration_s"])
        if content_type(name) in BROWSER_PLAYS:
            assert note["data"]["playable_url"] is None
        else:  # AMR, Ogg and WebM also get a copy every browser plays
            assert note["data"]["playable_url"] == f"/api/media/{media_id}/playable"
            copy = sofia.get(note["data"]["playable_url"])
            assert copy.status_code == 200 and copy.headers["content-type"] == "audio/mp4"
            assert sniff(copy.content[:64]) == "mp4" and copy.headers["x-content-type-options"] == "nosniff"
    stream.close()

    # The stored record says the same after a reload, and the conversation list shows the words.
    stored = message(sofia, first["patient_id"], first["seq"])
    for name, a in zip(names, stored["attachments"], strict=True):
        assert a["state"] == "stored" and a["voice"]["state"] == "done", name
        assert has_key_words(a["voice"]["text"]) and a["voice"]["duration_s"] > 3
    conv = sofia.get(f"/api/conversations/{first['conversation_id']}").json()
    assert has_key_words(conv["preview"]), conv["preview"]

    # Searchable like text, only by who may see the patient, and audited.
    found = sofia.get("/api/search", params={"q": "next WEEK appointment"}).json()
    hits = [h for h in found["hits"] if h["event"]["kind"] == "transcript"]
    assert {h["event"]["data"]["media_id"] for h in hits} == set(media_ids)
    assert all(h["patient_name"] == CALLER for h in hits)
    audit = db_rows(voice_hub, "SELECT detail FROM audit_log WHERE action = 'search'")
    assert audit and "next WEEK appointment" in audit[-1][0]
    assert db_rows(
        voice_hub, "SELECT count(*) FROM audit_log WHERE action = 'media.read' AND detail LIKE '%playable%'"
    )[0][0] == len([n for n in names if content_type(n) not in BROWSER_PLAYS])
    sofia.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_voice_hub(request, tmp_path, media):
    pg = PostgresDatabase() if request.param == "postgres" else None
    srv = HubServer(voice_settings(tmp_path, media, pg.url if pg else None)).start()
    yield srv
    srv.stop()
    if pg:
        pg.drop()


def test_a_voicemail_callback_becomes_a_transcribed_voice_note(any_voice_hub, media):
    srv = any_voice_hub
    sofia = Staff(srv.base_url, "sofia")
    stream = open_stream(srv, sofia)
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    # Recorded from the phone line: 8 kHz. Twilio's default is WAV with no extension; + ".mp3" an MP3.
    wav_url = media.add("RE_wav", encoded("wav-8k"), "audio/x-wav")
    mp3_url = media.add("RE_mp3.mp3", encoded("mp3-8k"), "audio/mpeg")
    call = {"AccountSid": TWILIO_ACCOUNT, "CallSid": "CA0001", "To": "+16502530000", "RecordingStatus": "completed"}

    def callback(sid: str, url: str, **more: str) -> httpx.Response:
        fields = {**call, "RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": "4", "From": CALLER, **more}
        return _post(http, "/api/channels/voice/voicemail", fields)

    unsigned = http.post(
        "/api/channels/voice/voicemail",
        data={"RecordingSid": "RE_forged", "RecordingUrl": wav_url, "From": CALLER},
    )
    assert unsigned.status_code == 403
    assert callback("RE_none", wav_url, RecordingStatus="absent").status_code == 200  # nothing was recorded
    for sid, url in (("RE0001", wav_url), ("RE0002", mp3_url)):
        r = callback(sid, url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert callback("RE0001", wav_url).status_code == 200  # Twilio retried: stored once

    got = transcripts(stream, 2)
    messages = [f["event"] for f in stream.events if f["event"]["kind"] == "message_in"]
    assert [m["provider_message_id"] for m in messages] == ["RE0001", "RE0002"]
    assert all(m["channel"] == "voice" and m["author_type"] == "patient" for m in messages)
    assert [m["attachments"][0]["content_type"] for m in messages] == ["audio/wav", "audio/mpeg"]
    for event in got.values():
        assert event["data"]["state"] == "done" and event["channel"] == "voice"
        assert has_key_words(event["text"]), event["text"]
    # Fetched with the account's credentials from the provider, never sent to the storage host.
    assert all(h.authorization for h in media.hits_for("RE_wav", "api"))
    assert [h.authorization for h in media.hits_for("RE_wav", "storage")] == [None]
    assert len(media.hits_for("RE_wav", "api")) == 1 and not media.hits_for("RE_forged")
    stream.close()
    sofia.close()


def test_web_chat_recordings_from_each_browser_land_as_the_visitors_message(voice_hub):
    sofia = Staff(voice_hub.base_url, "sofia")
    stream = open_stream(voice_hub, sofia)
    rosa = VisitorClient(voice_hub.base_url, voice_hub.ws_url)
    rosa.start()
    rosa.open()
    assert rosa.recv()["type"] == "ready"
    # Chrome records Opus in WebM, Safari AAC in MP4, Firefox Opus in Ogg; each as its browser labels it.
    sent = {}
    for fmt, declared in (("webm", "audio/webm;codecs=opus"), ("m4a", "audio/mp4"), ("ogg", "audio/ogg;codecs=opus")):
        client_id = f"m-{fmt}-{uuid.uuid4().hex[:8]}"
        r = upload(rosa, encoded(fmt), declared, client_id, language="en")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["id"] == client_id and body["duplicate"] is False and body["media_id"]
        again = upload(rosa, encoded(fmt), declared, client_id)  # the widget retried: stored once
        assert again.status_code == 200 and again.json() == {**body, "duplicate": True}
        sent[body["media_id"]] = (fmt, body)

    # The visitor sees their own voice messages (no text: the widget labels them).
    mine = [rosa.until(lambda f: f["type"] == "message") for _ in sent]
    assert [m["id"] for m in mine] == [b["id"] for _, b in sent.values()]
    assert all(m["author"] == "you" and m["text"] is None for m in mine)

    got = transcripts(stream, 3)
    for media_id, (fmt, body) in sent.items():
        event = got[media_id]
        assert event["channel"] == "webchat" and event["data"]["message_seq"] == body["seq"]
        assert event["data"]["state"] == "done" and has_key_words(event["text"]), (fmt, event["text"])
        original = sofia.get(f"/api/media/{media_id}")
        assert original.status_code == 200 and original.content == encoded(fmt)
    messages = [f["event"] for f in stream.events if f["event"]["kind"] == "message_in"]
    assert [m["attachments"][0]["content_type"] for m in messages] == ["audio/webm", "audio/mp4", "audio/ogg"]
    assert all(m["attachments"][0]["voice"] == {"state": "pending"} for m in messages)  # live, at once
    assert len(db_rows(voice_hub, "SELECT id FROM voice_notes")) == 3
    rosa.close()
    stream.close()
    sofia.close()


@pytest.fixture
def strict_hub(tmp_path, media):
    """Small limits: 100 KB, 6 seconds, and eight recordings per visitor an hour."""
    srv = HubServer(voice_settings(tmp_path, media, max_bytes=100 * 1024, max_seconds=6, uploads_per_hour=8)).start()
    yield srv
    srv.stop()


def test_bad_recordings_are_refused_or_marked_with_the_reason_and_the_worker_goes_on(strict_hub, media):
    srv = strict_hub
    sofia = Staff(srv.base_url, "sofia")
    stream = open_stream(srv, sofia)
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    long_note = encoded("ogg", LONG_SENTENCE)
    big_note = encoded("wav")  # 16 kHz PCM: larger than 100 KB
    assert len(big_note) > 100 * 1024 > len(long_note)
    items = [
        (media.add("ME_renamed", png(), "audio/ogg"), "audio/ogg"),  # a photo renamed .ogg
        (media.add("ME_corrupt", corrupt_ogg(), "audio/ogg"), "audio/ogg"),  # Ogg's magic, then noise
        (media.add("ME_long", long_note, "audio/ogg"), "audio/ogg"),
        (media.add("ME_big", big_note, "audio/wav"), "audio/wav"),
        (media.add("ME_good", encoded("ogg"), "audio/ogg"), "audio/ogg"),
    ]
    assert mms(http, "MMbad0001", items).status_code == 200
    got = transcripts(stream, 4)
    first = next(f["event"] for f in stream.events if f["event"]["kind"] == "message_in")
    renamed, corrupt, long_id, big, good = (a["media_id"] for a in first["attachments"])

    # The photo never became a voice note: its fetch was refused, with the reason.
    status = next(f["event"] for f in stream.events if f["event"]["data"].get("media_id") == renamed)
    assert status["kind"] == "media_status" and status["data"]["error_code"] == "type_mismatch"
    assert renamed not in got
    assert got[corrupt]["data"]["state"] == "failed" and got[corrupt]["data"]["reason_code"] == "undecodable"
    assert got[corrupt]["text"] is None
    assert got[corrupt]["data"]["reason"] == "The recording could not be decoded: it is damaged or not audio."
    assert got[long_id]["data"]["reason"] == "The recording is longer than the limit of 6 s."
    assert got[big]["data"]["reason"] == "The recording is larger than the limit of 100 KB."
    # Too long is still checked and playable: its length was measured and a copy made.
    checked = stream_events(stream, "voice_note")
    assert checked[long_id]["data"]["duration_s"] > 6 and checked[long_id]["data"]["playable_url"]
    assert sofia.get(checked[long_id]["data"]["playable_url"]).status_code == 200
    # ...and the worker carried on: the good note was transcribed.
    assert got[good]["data"]["state"] == "done" and has_key_words(got[good]["text"])
    stored = message(sofia, first["patient_id"], first["seq"])["attachments"]
    assert stored[0]["state"] == "failed" and "voice" not in stored[0]
    assert stored[1]["voice"] == {
        "state": "failed",
        "error_code": "undecodable",
        "error": "The recording could not be decoded: it is damaged or not audio.",
    }
    assert stored[2]["voice"]["state"] == "failed" and stored[2]["voice"]["duration_s"] > 6
    stream.close()

    # The widget's uploads are refused at the door, each with a clear message in the visitor's language.
    rosa = VisitorClient(srv.base_url, srv.ws_url)
    rosa.start(language="es")
    r = upload(rosa, png(), "audio/webm")
    assert r.status_code == 415
    assert (
        r.json()["detail"] == "This file is not a sound recording: its content is not the audio/webm it claims to be."
    )
    r = upload(rosa, b"hello", "text/plain")
    assert r.status_code == 415 and "text/plain" in r.json()["detail"]
    r = rosa.http.post(
        "/api/webchat/voice",
        params={"id": "m-toobig01"},
        content=big_note,
        headers={**rosa.auth, "content-type": "audio/wav", "accept-language": "es"},
    )
    assert r.status_code == 413 and r.json()["detail"] == "La grabación supera el límite de 100 KB."
    assert upload(rosa, b"", "audio/ogg").status_code == 400
    assert upload(rosa, encoded("ogg"), "audio/ogg", "bad id!").status_code == 400
    assert (
        upload(VisitorClient(srv.base_url, srv.ws_url, token="forged"), encoded("ogg"), "audio/ogg").status_code == 401
    )
    limited = [upload(rosa, png(), "audio/webm").status_code for _ in range(4)]
    assert limited == [415, 415, 415, 429]  # eight recordings an hour per visitor, refused ones too
    assert db_rows(srv, "SELECT count(*) FROM media WHERE channel = 'webchat'") == [(0,)]
    sofia.close()


def test_a_restart_or_a_dead_hub_resumes_transcription(tmp_path, media):
    settings = voice_settings(tmp_path, media, workers=1)
    long_note = encoded("ogg", LONG_SENTENCE)
    first = HubServer(settings).start()
    sofia = Staff(first.base_url, "sofia")
    stream = open_stream(first, sofia)
    rosa = VisitorClient(first.base_url, first.ws_url)
    rosa.start()
    body = upload(rosa, long_note, "audio/ogg").json()
    while not stream_events(stream, "voice_note"):  # checked: transcription has begun
        stream.recv(timeout=30)
    stream.close()
    first.stop()  # mid-transcription: the child is killed, the claim handed back
    assert db_rows(first, "SELECT state, attempts, claimed_by FROM voice_notes") == [("pending", 0, None)]
    assert db_rows(first, "SELECT count(*) FROM timeline_events WHERE kind = 'transcript'") == [(0,)]

    # A hub that died mid-transcription (kill -9) left its claim behind: the next start takes it back.
    stale = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy keeps it
    db_rows(
        first, "UPDATE voice_notes SET state = 'working', attempts = 1, claimed_by = 'dead:1:x', claimed_at = ?", stale
    )
    second = HubServer(replace(settings, server=replace(settings.server))).start()  # same data dir and database
    try:
        sofia = Staff(second.base_url, "sofia")
        deadline = time.monotonic() + 60
        while True:
            rows = db_rows(second, "SELECT state, text FROM voice_notes")
            if rows[0][0] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, "the restarted hub did not resume the transcription"
            time.sleep(0.2)
        assert rows[0][0] == "done" and has_key_words(rows[0][1])
        events = sofia.get(f"/api/patients/{message_patient(second, body['seq'])}/timeline").json()["events"]
        kinds = [e["kind"] for e in events if e["kind"] in ("voice_note", "transcript")]
        assert kinds == ["voice_note", "transcript"]  # checked once; resumed from there
    finally:
        second.stop()


def message_patient(srv: HubServer, seq: int) -> int:
    return db_rows(srv, "SELECT patient_id FROM timeline_events WHERE seq = ?", seq)[0][0]


def test_the_language_is_heard_in_the_voice_on_every_path(voice_hub, media):
    """English and Spanish, as each source really sends them: MMS (AMR-NB at 12.2 and 7.95 kbps),
    voicemail (8 kHz WAV and MP3) and the widget (Opus and Safari's AAC). The language comes from
    the voice, whatever the record says; a language the clinic does not serve is reported as what
    it is, and marked low confidence."""
    sofia = Staff(voice_hub.base_url, "sofia")
    stream = open_stream(voice_hub, sofia)
    notes = [  # (path, format, sentence, voice, language on record, language of the voice)
        ("mms", "amr", SPANISH, SPANISH_VOICE, None, "es"),
        ("mms", "amr-7.95", SPANISH, SPANISH_VOICE, None, "es"),
        ("mms", "amr", GERMAN, GERMAN_VOICE, None, "de"),
        ("voicemail", "wav-8k", SPANISH, SPANISH_VOICE, None, "es"),
        ("voicemail", "mp3-8k", SPANISH, SPANISH_VOICE, None, "es"),
        ("widget", "webm", SPANISH, SPANISH_VOICE, None, "es"),
        ("widget", "m4a", SPANISH, SPANISH_VOICE, "en", "es"),  # the record says English: the voice, Spanish
        ("widget", "ogg", SENTENCE, VOICE, "es", "en"),  # the record says Spanish: the voice, English
    ]
    expected = {}  # patient name -> (language, what it was)
    for path, fmt, text, voice, on_record, language in notes:
        name = _send_body(voice_hub, media, path, fmt, encoded(fmt, text, voice), language=on_record)
        expected[name] = (language, f"{path} {fmt} {text[:12]}")
    got = transcripts(stream, len(notes))
    names = {c["id"]: c["patient_name"] for c in sofia.get("/api/conversations").json()["conversations"]}
    assert {names[e["conversation_id"]] for e in got.values()} == set(expected)
    for event in got.values():
        language, what = expected[names[event["conversation_id"]]]
        data = event["data"]
        assert data["state"] == "done" and data["language"] == language, (what, data, event["text"])
        if language == "es":
            assert has_key_words(event["text"], SPANISH_KEY_WORDS), (what, event["text"])
            assert data["low_confidence"] is False, (what, data)
        elif language == "en":
            assert has_key_words(event["text"]) and data["low_confidence"] is False, (what, event["text"])
        else:  # German: not a language the clinic serves, so doubtful whatever the words
            assert data["low_confidence"] is True and "termin" in words(event["text"]), (what, event["text"])
        assert data["language_probability"] > 0.3, (what, data)
    stream.close()
    sofia.close()


def test_search_shows_only_what_the_staff_member_may_see(voice_hub):
    ben = Staff(voice_hub.base_url, "ben")  # the demo's Ben (billing) cannot see María González (scheduling)
    admin = Staff(voice_hub.base_url, "admin")
    assert ben.get("/api/search", params={"q": "a"}).status_code == 400
    hits = admin.get("/api/search", params={"q": "CITA"}).json()["hits"]
    assert [h["patient_name"] for h in hits] == ["María González"] and "cita" in hits[0]["event"]["text"]
    assert ben.get("/api/search", params={"q": "cita"}).json()["hits"] == []
    assert [h["patient_name"] for h in ben.get("/api/search", params={"q": "charged twice"}).json()["hits"]] == [
        "James Carter"
    ]
    assert admin.get("/api/search", params={"q": "100%_"}).json()["hits"] == []  # wildcards taken as written


@pytest.fixture(scope="module")
def bot_media():
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def bot_voice_hub(tmp_path_factory, bot_media):
    """The assistant on: one hub for the module's assistant tests (each its own patients)."""
    srv = HubServer(voice_settings(tmp_path_factory.mktemp("bot-voice"), bot_media, bot=True)).start()
    yield srv
    srv.stop()


def _send(srv: HubServer, media: MediaServer, path: str, fmt: str, text: str, voice: str) -> str:
    return _send_body(srv, media, path, fmt, encode_wav(spoken(text, voice), fmt))


def _send_body(
    srv: HubServer, media: MediaServer, path: str, fmt: str, body: bytes, language: str | None = None
) -> str:
    """A voice note by `path` (mms, voicemail, widget) from a new patient (`language` on record, for
    a web-chat visitor who said it): their name in the inbox."""
    tag = uuid.uuid4().hex[:10]
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    if path == "widget":
        visitor = VisitorClient(srv.base_url, srv.ws_url)
        visitor.start(name=f"Visitor {tag}", **({"language": language} if language else {}))
        assert upload(visitor, body, content_type(fmt)).status_code == 201
        return f"Visitor {tag}"
    sender = f"+1650555{int(tag, 16) % 10**4:04d}"
    if path == "mms":
        url = media.add(f"ME_{tag}", body, content_type(fmt))
        assert mms(http, f"MM{tag}", [(url, content_type(fmt))], sender).status_code == 200
    else:
        url = media.add(f"RE_{tag}" + (".mp3" if fmt.startswith("mp3") else ""), body, content_type(fmt))
        fields = {
            "AccountSid": TWILIO_ACCOUNT,
            "CallSid": f"CA{tag}",
            "To": "+16502530000",
            "RecordingStatus": "completed",
            "RecordingSid": f"RE{tag}",
            "RecordingUrl": url,
            "From": sender,
        }
        assert _post(http, "/api/channels/voice/voicemail", fields).status_code == 200
    return sender


def _handed_off(staff: Staff, name: str, timeout: float = 60) -> tuple[dict, list[dict]]:
    """The patient's conversation once the assistant handed it to people, and its timeline."""
    deadline = time.monotonic() + timeout
    while True:
        listed = staff.get("/api/conversations").json()["conversations"]
        conv = next((c for c in listed if c["patient_name"] == name), None)
        if conv is not None:
            events = staff.get(f"/api/patients/{conv['patient_id']}/timeline", params={"limit": 200}).json()["events"]
            if any(e["kind"] == "handoff" for e in events):  # the conversation as the hand-off left it:
                return staff.get(f"/api/conversations/{conv['id']}").json(), events
        assert time.monotonic() < deadline, f"{name}'s voice note was never handed to a person"
        time.sleep(0.2)


def _bot_said(events: list[dict]) -> list[tuple[str, str]]:
    """(template, locale) of each of the assistant's messages, oldest first."""
    said = [e for e in events if e["author_type"] == "bot" and e["kind"] == "message_out"]
    return [(e["data"].get("template"), e["data"].get("locale")) for e in said]


@pytest.mark.parametrize(
    ("path", "fmt", "language"),
    [
        ("mms", "amr", "en"),
        ("mms", "amr-7.95", "es"),
        ("voicemail", "wav-8k", "es"),
        ("voicemail", "mp3-8k", "en"),
        ("widget", "webm", "es"),
        ("widget", "m4a", "en"),
    ],
)
def test_a_red_flag_said_in_a_voice_note_takes_the_urgent_path(bot_voice_hub, bot_media, path, fmt, language):
    """Chest pain and breathlessness, said in English or Spanish on phone audio or in the widget:
    the transcript's red flag is urgent at once (the clinical team, ahead of the queue, the alert
    ladder), and the patient is told what to do in the language they spoke."""
    text, voice = (EMERGENCY, VOICE) if language == "en" else (EMERGENCIA, SPANISH_VOICE)
    name = _send(bot_voice_hub, bot_media, path, fmt, text, voice)
    admin = Staff(bot_voice_hub.base_url, "admin")
    conv, events = _handed_off(admin, name)
    transcript = next(e for e in events if e["kind"] == "transcript")
    assert transcript["data"]["language"] == language, transcript
    handoff = next(e for e in events if e["kind"] == "handoff")
    assert handoff["data"]["reason"] == "red_flag" and handoff["data"]["urgent"] is True, (handoff, transcript)
    assert handoff["data"]["category"] in ("cardiac", "breathing") and handoff["seq"] > transcript["seq"]
    assert handoff["data"]["team_name"] == "Clinical" and handoff["data"]["phrases"], handoff["data"]
    assert _bot_said(events) == [("bot_emergency_911", language)]
    assert conv["priority"] > 0 and conv["language"] == language
    admin.close()


@pytest.mark.parametrize(
    ("path", "fmt", "language"), [("mms", "amr", "es"), ("voicemail", "mp3-8k", "en"), ("widget", "ogg", "es")]
)
def test_a_voice_only_patient_is_answered_in_the_language_of_the_voice(bot_voice_hub, bot_media, path, fmt, language):
    """A new patient (no language on record) asks for an appointment by voice: the assistant
    answers in the language it heard, and records it as the conversation's."""
    text, voice = (SENTENCE, VOICE) if language == "en" else (SPANISH, SPANISH_VOICE)
    name = _send(bot_voice_hub, bot_media, path, fmt, text, voice)
    admin = Staff(bot_voice_hub.base_url, "admin")
    conv, events = _handed_off(admin, name)
    transcript = next(e for e in events if e["kind"] == "transcript")
    assert transcript["data"]["language"] == language and transcript["data"]["low_confidence"] is False
    said = _bot_said(events)
    assert said and {locale for _, locale in said} == {language}, said
    assert ("bot_cannot_verify", language) in said  # an appointment: nothing on file to check them with
    handoff = next(e for e in events if e["kind"] == "handoff")
    assert handoff["data"]["reason"] == "cannot_verify"
    assert conv["language"] == language, (conv, said)
    admin.close()


def _reversed(text: str) -> bytes:
    """Speech played backwards: a voice, and no words in any language."""
    wav = spoken(text)
    header, samples = wav[:44], memoryview(wav[44:]).cast("h")
    return header + array("h", reversed(samples)).tobytes()


@pytest.mark.parametrize(
    ("path", "fmt", "sound", "why"),
    [
        ("mms", "amr", "german", "language"),
        ("voicemail", "wav-8k", "reversed", "low_confidence"),
        ("widget", "webm", "silence", "empty"),
    ],
)
def test_a_voice_note_that_cannot_be_understood_goes_to_a_person(bot_voice_hub, bot_media, path, fmt, sound, why):
    """Words in a language the clinic does not serve, sounds that are no words, silence: never
    answered "not understood"; the conversation goes to a person with the reason and the note."""
    if sound == "german":
        wav = spoken(GERMAN, GERMAN_VOICE)
    elif sound == "reversed":
        wav = _reversed(SENTENCE)
    else:
        wav = spoken(SPANISH, SPANISH_VOICE)
        wav = wav[:44] + bytes(len(wav) - 44)
    srv, media = bot_voice_hub, bot_media
    name = _send_body(srv, media, path, fmt, encode_wav(wav, fmt))
    admin = Staff(srv.base_url, "admin")
    conv, events = _handed_off(admin, name)
    transcript = next(e for e in events if e["kind"] == "transcript")
    handoff = next(e for e in events if e["kind"] == "handoff")
    assert handoff["data"]["reason"] == "voice_unclear" and handoff["data"]["why"] == why, (handoff, transcript)
    assert handoff["data"]["media_id"] == transcript["data"]["media_id"]  # the audio at hand
    assert handoff["data"]["message_seq"] == transcript["data"]["message_seq"]
    assert handoff["data"].get("urgent") is not True
    assert all(template != "bot_not_understood" for template, _ in _bot_said(events))
    assert not [e for e in events if e["kind"] == "handoff" and e["data"]["reason"] == "not_understood"]
    assert conv["handler"] == "agent"
    admin.close()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"RecordingUrl": "https://api.twilio.com/x/RE1"}, ("RE1", "audio/wav")),
        ({"RecordingUrl": "https://api.twilio.com/x/RE1.mp3"}, ("RE1", "audio/mpeg")),
        ({"RecordingUrl": "https://api.twilio.com/x/RE1", "RecordingStatus": "absent"}, None),
        ({"RecordingUrl": "https://api.twilio.com/x/RE1", "RecordingDuration": "0"}, None),
        ({"RecordingUrl": "https://api.twilio.com/x/RE1", "RecordingDuration": "soon"}, "RecordingDuration"),
        ({"RecordingUrl": ""}, "missing RecordingUrl"),
        ({"RecordingUrl": "https://api.twilio.com/x/RE1", "From": ""}, "missing From"),
    ],
)
def test_the_voicemail_callback_as_a_message(fields, expected):
    from urllib.parse import urlencode

    from channels.base import InvalidPayload
    from channels.sms.voicemail import parse_voicemail

    body = urlencode({"RecordingSid": "RE1", "From": CALLER, "CallSid": "CA1", **fields}).encode()
    if isinstance(expected, str):
        with pytest.raises(InvalidPayload, match=expected):
            parse_voicemail(body, "application/x-www-form-urlencoded")
        return
    msg = parse_voicemail(body, "application/x-www-form-urlencoded")
    if expected is None:
        assert msg is None
        return
    assert (msg.provider_message_id, msg.attachments[0].content_type) == expected
    assert msg.channel == "voice" and msg.sender.kind == "phone" and msg.text is None
