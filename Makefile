# The two commands that matter: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-compat lint messages mutate check-deploy clean

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: install it, or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps: reinstall only when a requirements file changes.
$(VENV)/.run-deps: $(PY) requirements.txt requirements-standin.txt
	$(PIP) install --quiet -r requirements.txt -r requirements-standin.txt
	@touch $@

$(VENV)/.dev-deps: $(PY) requirements.txt requirements-standin.txt requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.run-deps

## make run: set everything up on the SQLite default and start the site, the worker and
## (unless QB_WEBUI_URL is set) the stand-in WEBUI. Ctrl-C stops them all.
run: $(VENV)/.run-deps
	QB_DEBUG=$${QB_DEBUG:-1} exec $(PY) manage.py devserver

# GNU gettext (xgettext, msgmerge, msgfmt): for `make messages`, and for the test that the
# catalogues are complete and current. `make run` needs none of it (the .mo are committed).
GETTEXT_OR_INSTALL = command -v xgettext >/dev/null && command -v msgfmt >/dev/null || { \
		echo "Installing Debian's gettext (translation catalogues)"; \
		(apt-get update -qq && apt-get install -y -qq gettext >/dev/null) || \
		{ echo "Could not install gettext (needs root and Debian's package lists)."; exit 1; }; }

## make test: set everything up and run ruff and the whole test suite.
test: $(VENV)/.dev-deps
	@test -x /usr/bin/chromium -a -x /usr/bin/bwrap -a -x /usr/bin/msgfmt -a -x /usr/bin/xgettext || { \
		echo "Installing Debian's chromium (browser tests), bubblewrap (the code judge's sandbox) and gettext (translation catalogues)"; \
		(apt-get update -qq && apt-get install -y -qq chromium bubblewrap gettext >/dev/null) || \
		{ echo "Could not install chromium, bubblewrap and gettext (needs root and Debian's package lists)."; exit 1; }; }
	$(VENV)/bin/ruff check .
	QB_DEBUG=1 bash tests/run-in-two.sh

## make test-compat: the model-server client's contract tests against real Gradio 3.50.2
## and 4.44.1 (WEBUI-shaped stand-ins), each release in its own virtualenv under
## .cache/compat/, built on the first run and reused after (tests/compat/run.sh).
test-compat:
	PYTHON=$(PYTHON) bash tests/compat/run.sh 3.50.2 4.44.1

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .

## make messages: update the translation catalogues (locale/zh_Hans/LC_MESSAGES/*.po) from
## the source, then compile them (*.mo, committed). Needs GNU gettext; installs Debian's if
## missing. New strings arrive untranslated: translate them and run it again.
messages: $(VENV)/.run-deps
	@$(GETTEXT_OR_INSTALL)
	QB_DEBUG=1 $(PY) manage.py messages

## make mutate: mutation testing of the sanitizer, HTML allowlist, call-log chain, breaker and
## claim, visibility rules, answer checking and import guards (docs/mutation.md). Not part of
## `make test`. One module: make mutate MODULES=sanitize
mutate: $(VENV)/.dev-deps
	$(PY) mutation/run.py $(MODULES)

## check-deploy: Django's deployment checklist with production-like values.
check-deploy: $(VENV)/.run-deps
	QB_DEBUG=0 QB_SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') \
		QB_ALLOWED_HOSTS=qb.example.org $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache staticfiles .test-db.sqlite3*
