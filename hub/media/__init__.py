"""Media patients send (MMS photos, voice notes): queued with their message, fetched from the
provider in the background, checked, kept under data_dir/media, and served to staff only.

- queue.py: the database side (rows made at ingest, claims, outcomes, media_status events)
- fetch.py: one fetch over HTTP (credentials, redirects, size and time limits)
- sniff.py: the allow-list of types, and what a file's first bytes say it is
- storage.py: content-addressed files, written atomically
- worker.py: the background worker; controllers.py: GET /api/media/{id}
- reasons.py: why a fetch failed, as catalog messages
"""
