"""MMS media end to end: a signed Twilio webhook with media, acknowledged once committed; the media
fetched in the background from a local server that serves media as Twilio does (Basic auth, a
redirect to a storage host), checked, kept on disk by sha256, announced on agents' WebSockets and
served to staff who may see the patient, every read audited. Failures end as failed items with
a reason, the message text always kept; a restart resumes what was pending."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace

import httpx
import pytest

from hub.media.sniff import sniff
from hub.settings import MediaSettings
from tests.channels.sms.test_sms_webhooks import _fields, _post
from tests.support.clients import Staff, inbound, post_inbound
from tests.support.media_server import MediaServer, png, wav
from tests.support.server import TWILIO_ACCOUNT, TWILIO_TOKEN, HubServer, hub_settings
from tests.support.services import PostgresDatabase
from tests.support.stream import StreamClient

MARIA = "+16505550134"  # the demo's María González: team scheduling, assigned to ana; ben cannot see her
LIMIT = 256 * 1024
FINAL = ("stored", "failed")


@pytest.fixture
def media():
    with MediaServer(TWILIO_ACCOUNT, TWILIO_TOKEN) as server:
        yield server


def _settings(tmp_path, media: MediaServer, db_url: str | None = None):
    settings = hub_settings(tmp_path, db_url=db_url)
    return replace(
        settings,
        sms=replace(settings.sms, api_base_url=media.url),
        media=MediaSettings(max_bytes=LIMIT, timeout_s=1.5, max_attempts=2, retry_base_s=0.2, allow_http=True),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def media_hub(request, tmp_path, media):
    pg = PostgresDatabase() if request.param == "postgres" else None
    srv = HubServer(_settings(tmp_path, media, pg.url if pg else None)).start()
    yield srv
    srv.stop()
    if pg:
        pg.drop()


@pytest.fixture
def sqlite_hub(tmp_path, media):
    srv = HubServer(_settings(tmp_path, media)).start()
    yield srv
    srv.stop()


def _mms(http: httpx.Client, sid: str, text: str, media: list[tuple[str, str]], sender: str = MARIA) -> httpx.Response:
    extra = {"NumMedia": str(len(media))}
    for n, (url, content_type) in enumerate(media):
        extra[f"MediaUrl{n}"], extra[f"MediaContentType{n}"] = url, content_type
    return _post(http, "/api/channels/sms/inbound", _fields(sid, text, sender=sender, **extra))


def _maria(staff: Staff) -> int:
    convs = staff.get("/api/conversations").json()["conversations"]
    return next(c["patient_id"] for c in convs if c["patient_name"] == "María González")


def _message(staff: Staff, patient_id: int, sid: str) -> dict:
    events = staff.get(f"/api/patients/{patient_id}/timeline").json()["events"]
    return next(e for e in events if e["provider_message_id"] == sid)


def _statuses(stream: StreamClient, media_ids: set[int], timeout: float = 20) -> dict[int, dict]:
    """media_status events on the stream until every item in media_ids has a final one."""
    deadline = time.monotonic() + timeout
    got: dict[int, dict] = {}
    while set(got) != media_ids:
        frame = stream.recv(timeout=max(0.1, deadline - time.monotonic()))
        event = frame.get("event") or {}
        if frame["type"] == "event" and event["kind"] == "media_status":
            assert event["data"]["state"] in FINAL
            got[event["data"]["media_id"]] = event["data"]
    return got


def _open_stream(srv: HubServer, staff: Staff) -> StreamClient:
    stream = StreamClient(srv.ws_url, staff, after=staff.get("/api/conversations").json()["last_seq"]).open()
    stream.read_until_ready()
    return stream


def test_mms_is_acknowledged_first_then_fetched_stored_shown_and_served(media_hub, media):
    photo, voice = png(), wav()
    gate = threading.Event()
    image_url = media.add("ME_photo", photo, "image/png", gate=gate)
    audio_url = media.add("ME_voice", voice, "audio/x-wav")
    ana, ben, admin = (Staff(media_hub.base_url, login) for login in ("ana", "ben", "admin"))
    patient_id = _maria(ana)
    stream = _open_stream(media_hub, ana)
    http = httpx.Client(base_url=media_hub.base_url, timeout=10)

    sent = [(image_url, "image/png"), (audio_url, "audio/x-wav")]
    r = _mms(http, "MMmedia0001", "Esta es la foto de la receta", sent)
    assert r.status_code == 200 and b"<Response>" in r.content  # committed; the photo is still held back
    assert _mms(http, "MMmedia0001", "Esta es la foto de la receta", sent).status_code == 200  # a retry
    media.wait_for_hit("ME_photo", "storage")

    message = _message(ana, patient_id, "MMmedia0001")
    assert message["text"] == "Esta es la foto de la receta"
    photo_att, voice_att = message["attachments"]
    photo_id, voice_id = photo_att["media_id"], voice_att["media_id"]
    assert photo_att == {
        "content_type": "image/png",
        "url": f"/api/media/{photo_id}",
        "media_id": photo_id,
        "state": "pending",
    }
    assert voice_att["url"] == f"/api/media/{voice_id}" and voice_att["content_type"] == "audio/wav"
    assert "twilio" not in str(message) and media.url not in str(message)  # the provider's URL stays in the hub
    pending = ana.get(f"/api/media/{photo_id}")
    assert pending.status_code == 409 and "still being fetched" in pending.json()["detail"]

    gate.set()
    statuses = _statuses(stream, {photo_id, voice_id})
    assert statuses[photo_id] == {
        "message_seq": message["seq"],
        "media_id": photo_id,
        "position": 0,
        "state": "stored",
        "content_type": "image/png",
        "size": len(photo),
        "error_code": None,
        "error": None,
    }
    assert statuses[voice_id]["state"] == "stored" and statuses[voice_id]["content_type"] == "audio/wav"
    stream.close()

    # Credentials went to the provider's host only, never to the storage host it redirected to.
    assert all(h.authorization for h in media.hits_for("ME_photo", "api"))
    assert [h.authorization for h in media.hits_for("ME_photo", "storage")] == [None]
    assert len(media.hits_for("ME_voice", "api")) == 1  # the retried webhook queued nothing twice

    # Kept on disk under its sha256.
    for body in (photo, voice):
        digest = hashlib.sha256(body).hexdigest()
        assert (media_hub.settings.data_dir / "media" / digest[:2] / digest).read_bytes() == body

    # Shown: the message's attachments now say stored, with the checked type and size.
    stored = _message(ana, patient_id, "MMmedia0001")["attachments"]
    assert stored[0] == {
        "content_type": "image/png",
        "url": f"/api/media/{photo_id}",
        "size": len(photo),
        "media_id": photo_id,
        "state": "stored",
    }

    # Served to an agent who may see María, with headers that keep it inert.
    r = ana.get(f"/api/media/{photo_id}")
    assert r.status_code == 200 and r.content == photo
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline")
    assert f'filename="attachment-{photo_id}.png"' in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"
    r = ana.get(f"/api/media/{voice_id}")
    assert r.status_code == 200 and r.content == voice and r.headers["content-type"] == "audio/wav"

    signed_out = httpx.get(f"{media_hub.base_url}/api/media/{photo_id}")
    assert signed_out.status_code == 401 and signed_out.content != photo
    hidden = ben.get(f"/api/media/{photo_id}")
    assert hidden.status_code == 404 and hidden.json()["detail"] == f"No attachment {photo_id} that you can see."
    assert ben.get("/api/media/999999").status_code == 404

    reads = admin.get("/api/audit", params={"action": "media.read"}).json()
    assert sorted((a["agent_id"], a["patient_id"], a["detail"]["media_id"]) for a in reads) == sorted(
        [(ana.me["id"], patient_id, photo_id), (ana.me["id"], patient_id, voice_id)]
    )


def test_bad_media_fail_with_a_reason_and_the_text_is_kept(sqlite_hub, media):
    media.add("ME_gone", b"", "image/png", fail=[404])
    retried = png(6, 5)
    media.add("ME_flaky", retried, "image/png", fail=[500])
    media.add("ME_slow", png(), "image/png", delay=4)
    big = png() + b"\x00" * (LIMIT + 1)
    media.add("ME_big", big, "image/png", content_length=False)  # stopped while streaming
    media.add("ME_html", b"<!doctype html><script>alert(1)</script>", "image/png")
    media.add("ME_svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml")
    media.add("ME_lying", wav(), "audio/wav")
    media.add("ME_down", png(), "image/png", fail=[503, 503])
    sent = [
        (media.media_url("ME_gone"), "image/png"),
        (media.media_url("ME_flaky"), "image/png"),
        (media.media_url("ME_slow"), "image/png"),
        (media.media_url("ME_big"), "image/png"),
        (media.media_url("ME_html"), "image/png"),
        (media.media_url("ME_svg"), "image/png"),  # the server says SVG
        (media.media_url("ME_lying"), "image/jpeg"),  # declared a photo, is a WAV
        (media.media_url("ME_html"), "text/html"),  # declared active content: never fetched
        ("ftp://media.example/ME_1", "image/png"),
        (media.media_url("ME_down"), "image/png"),  # 503 on every attempt
    ]
    ana = Staff(sqlite_hub.base_url, "ana")
    patient_id = _maria(ana)
    stream = _open_stream(sqlite_hub, ana)
    http = httpx.Client(base_url=sqlite_hub.base_url, timeout=10)
    assert _mms(http, "MMmedia0002", "Le mando todo", sent).status_code == 200

    message = _message(ana, patient_id, "MMmedia0002")
    assert message["text"] == "Le mando todo"
    ids = [a["media_id"] for a in message["attachments"]]
    statuses = _statuses(stream, set(ids))
    stream.close()
    got = [(statuses[i]["state"], statuses[i]["error_code"]) for i in ids]
    assert got == [
        ("failed", "not_found"),
        ("stored", None),
        ("failed", "timeout"),
        ("failed", "too_large"),
        ("failed", "type_mismatch"),
        ("failed", "type_not_allowed"),
        ("failed", "type_mismatch"),
        ("failed", "type_not_allowed"),
        ("failed", "bad_url"),
        ("failed", "provider_error"),
    ]
    errors = [statuses[i]["error"] for i in ids]
    assert errors[0] == "The provider no longer has this attachment (HTTP 404)."
    assert errors[3] == "The attachment is larger than the limit of 256 KB."
    assert errors[4] == "The file's content is not the image/png it claims to be."
    assert errors[7] == "Attachments of type text/html are not accepted."
    assert errors[9] == "The provider failed to send this attachment (HTTP 503)."
    assert len(media.hits_for("ME_flaky", "api")) == 2 and len(media.hits_for("ME_down", "api")) == 2  # retried once
    assert len(media.hits_for("ME_slow", "storage")) == 2

    # Nothing refused was kept; the one that came through was.
    kept = {p.name for p in (sqlite_hub.settings.data_dir / "media").glob("??/*")}
    assert kept == {hashlib.sha256(retried).hexdigest()}
    assert not list((sqlite_hub.settings.data_dir / "media" / "tmp").iterdir())

    # The message shows each reason; the route refuses with it, in the reader's language.
    shown = _message(ana, patient_id, "MMmedia0002")["attachments"]
    assert shown[0]["state"] == "failed" and shown[0]["error"] == errors[0]
    assert shown[1]["state"] == "stored" and "error" not in shown[1]
    r = ana.get(f"/api/media/{ids[3]}")
    assert r.status_code == 410 and r.json()["detail"] == errors[3]
    r = ana.get(f"/api/media/{ids[0]}", headers={"accept-language": "es"})
    assert r.status_code == 410 and r.json()["detail"] == "El proveedor ya no tiene este archivo adjunto (HTTP 404)."
    assert ana.get(f"/api/media/{ids[1]}").content == retried


def test_a_restart_resumes_pending_media(tmp_path, media):
    photo = png(8, 8)
    gate = threading.Event()
    url = media.add("ME_later", photo, "image/png", gate=gate)
    settings = _settings(tmp_path, media)
    srv = HubServer(settings).start()
    http = httpx.Client(base_url=srv.base_url, timeout=10)
    assert _mms(http, "MMmedia0003", "¿Me la pueden revisar?", [(url, "image/png")]).status_code == 200
    media.wait_for_hit("ME_later", "storage")  # in flight, held by the storage host
    srv.stop()

    srv = HubServer(replace(settings, server=replace(settings.server))).start()  # same data dir and database
    try:
        ana = Staff(srv.base_url, "ana")
        patient_id = _maria(ana)
        (attachment,) = _message(ana, patient_id, "MMmedia0003")["attachments"]
        assert attachment["state"] == "pending"
        gate.set()
        deadline = time.monotonic() + 15
        while (r := ana.get(f"/api/media/{attachment['media_id']}")).status_code == 409:
            assert time.monotonic() < deadline, "the restarted hub did not fetch the pending media"
            time.sleep(0.05)
        assert r.status_code == 200 and r.content == photo
        assert _message(ana, patient_id, "MMmedia0003")["attachments"][0]["state"] == "stored"
    finally:
        srv.stop()


def test_an_integrations_attachment_stays_a_plain_link(sqlite_hub):
    http = httpx.Client(base_url=sqlite_hub.base_url, timeout=10)
    link = {
        "content_type": "application/pdf",
        "url": "https://portal.example.org/forms/intake.pdf",
        "name": "intake.pdf",
    }
    forged = {"content_type": "image/png", "url": "https://portal.example.org/x.png", "media_id": 1, "state": "stored"}
    r = post_inbound(http, inbound("Here are my forms", "portal-media-1", attachments=[link, forged]))
    assert r.status_code == 201, r.text
    ana = Staff(sqlite_hub.base_url, "ana")
    events = ana.get(f"/api/patients/{r.json()['patient_id']}/timeline").json()["events"]
    (message,) = [e for e in events if e["provider_message_id"] == "portal-media-1"]
    assert message["attachments"] == [link, {"content_type": "image/png", "url": "https://portal.example.org/x.png"}]
    assert not (sqlite_hub.settings.data_dir / "media").exists() or not list(
        (sqlite_hub.settings.data_dir / "media").glob("??/*")
    )


def test_credentials_go_only_to_the_providers_origin(sqlite_hub, media):
    photo = png(3, 3)
    media.add("ME_elsewhere", photo, "image/png")
    ana = Staff(sqlite_hub.base_url, "ana")
    stream = _open_stream(sqlite_hub, ana)
    http = httpx.Client(base_url=sqlite_hub.base_url, timeout=10)
    url = f"{media.storage.url}/files/ME_elsewhere"  # another origin than the SMS API's
    assert _mms(http, "MMmedia0004", "", [(url, "image/jpg")]).status_code == 200
    (attachment,) = _message(ana, _maria(ana), "MMmedia0004")["attachments"]
    assert attachment["content_type"] == "image/jpeg"  # the declared type, canonical
    (status,) = _statuses(stream, {attachment["media_id"]}).values()
    stream.close()
    assert (status["state"], status["error_code"]) == ("failed", "type_mismatch")  # a PNG is no JPEG
    assert [h.authorization for h in media.hits_for("ME_elsewhere")] == [None]


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead", "ogg"),
        (b"#!AMR\n<", "amr"),
        (b"ID3\x04\x00", "mpeg"),
        (b"\xff\xfb\x90\x64", "mpeg"),
        (b"\xff\xf1\x50\x80", "aac"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "3gpp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heif"),
        (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm", "webm"),
        (b"%PDF-1.7", "pdf"),
        (b"\x00\x00\x00\x14ftypqt  ", None),
        (b"<!DOCTYPE html><html>", None),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">', None),
        (b"<svg onload=alert(1)>", None),
        (b"", None),
    ],
)
def test_sniffing_tells_allowed_files_from_everything_else(head, family):
    assert sniff(head) == family
