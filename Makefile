# Fixpoint: `make run` for a local demo, `make test` for the suite. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
# Local development runs with DEBUG on unless you say otherwise (production never uses make run).
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: run install dev test lint format bench screenshots clean messages compile-messages

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Fixpoint needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(VENV)/.installed $@

# Local keys, made once and kept out of git, so manage.py works in this checkout: SECRET_KEY, and
# the key of the secrets stored encrypted (added to an older .env that lacks it).
.env:
	@$(PYTHON) -c 'import secrets; print("SECRET_KEY=" + secrets.token_urlsafe(50))' > .env
	@echo "Wrote .env with a new local SECRET_KEY."

NEW_FIELD_KEY := import base64, os; print("FIELD_ENCRYPTION_KEYS=" + base64.urlsafe_b64encode(os.urandom(32)).decode())
.PHONY: env-keys
env-keys: .env
	@grep -q '^FIELD_ENCRYPTION_KEYS=' .env || { $(PYTHON) -c '$(NEW_FIELD_KEY)' >> .env && \
		echo "Added a new local FIELD_ENCRYPTION_KEYS to .env."; }

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install env-keys
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py load_demo
	$(RUN_ENV) $(PY) manage.py load_game_demo
	@echo "\nFixpoint is starting on http://127.0.0.1:$(PORT)/ (admin: /admin/). Ctrl-C stops it.\n"
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: dev
	$(PY) -m pytest $(PYTEST_ARGS)

screenshots: dev
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/browser

lint: dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	DEBUG=true $(VENV)/bin/mypy .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

format: dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(RUN_ENV) $(PY) bench/routing.py

# Translations (docs/translating.md). Extraction needs GNU gettext (xgettext, msgmerge: apt-get
# install gettext); compiling does not (polib). The compiled .mo files are committed, so make run
# and make test need neither.
MAKEMESSAGES := DEBUG=true $(PY) manage.py makemessages -l ca -l es --no-wrap --no-obsolete --add-location file \
	--ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'staticfiles/*' --ignore 'media/*'
messages: dev
	$(MAKEMESSAGES) -d django
	$(MAKEMESSAGES) -d djangojs --ignore 'templates/*'
	$(PY) -m config.catalogues normalise

compile-messages: dev
	$(PY) -m config.catalogues compile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
