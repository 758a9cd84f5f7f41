"""Voice notes: audio patients send (a web-chat recording, MMS audio, a voicemail) becomes a note on
the timeline at once, is checked and made playable in every browser, and is transcribed offline
in the background; agents see each step live.

- queue.py: the database side (notes queued with their audio, claims, outcomes, their events)
- worker.py: the background worker; pool.py: its child processes; child.py: what they run
- audio.py: decoding, measuring and the playable copy (PyAV); engines.py: speech-to-text engines;
  whisper.py: the default one (faster-whisper, English and Spanish); model.py: its model, checked
- upload.py: POST /api/webchat/voice; controllers.py: GET /api/media/{id}/playable
- reasons.py: why a note has no transcript, as catalog messages; transcribe.py: a command line
"""
