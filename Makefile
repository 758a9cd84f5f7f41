# The two set-up commands (see README.md): `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test system-deps bench catalogs

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Install and start the hub on the embedded default (SQLite file in ./data, in-process
# realtime) with a demo clinic; prints demo logins.
run: $(VENV)/.installed
	$(PY) -m hub --demo

# Debian packages the tests drive: Chromium for the browser tests, espeak-ng to speak the voice-note
# tests' sentences (the hub itself needs neither: PyAV, faster-whisper and its model, and pocketsphinx
# come from their wheels).
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng; }

# Install everything and run the whole test suite (lint first: it is quick), one worker per core;
# a test file stays on one worker, so each file's servers and browser are set up once.
# `$(PY) -m pytest tests/bot/test_bot.py` runs one file alone.
test: $(VENV)/.installed system-deps
	$(VENV)/bin/ruff check hub channels tests bench
	$(PY) -m pytest -n auto --dist loadfile

bench: $(VENV)/.installed
	$(PY) bench/run.py

# Re-extract the gettext catalogs after changing marked strings: `puente` (the server's) and
# `web` (the inbox's, from web/strings.js).
catalogs: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F locales/babel.cfg -k _ -o locales/puente.pot --no-location --sort-output --project Puente --copyright-holder "Puente contributors" hub channels
	$(VENV)/bin/pybabel update -i locales/puente.pot -d locales -D puente --no-fuzzy-matching
	$(VENV)/bin/pybabel extract -F locales/babel-web.cfg -k _ -k _p:1c,2 -o locales/web.pot --no-location --sort-output --project Puente --copyright-holder "Puente contributors" web
	$(VENV)/bin/pybabel update -i locales/web.pot -d locales -D web --no-fuzzy-matching
