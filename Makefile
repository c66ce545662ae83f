# The README's commands. `make run` and `make test` set everything up on a bare machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test lint install env demo-data worker beat bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# A local .env with a generated secret key and demo admin password (never committed).
.env:
	@$(PYTHON) -c "import secrets; print('DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50)); print('DEMO_ADMIN_PASSWORD=' + secrets.token_urlsafe(9))" > .env
	@echo "wrote .env (secret key and demo admin password)"

env: .env

demo-data: install env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo

## First command: set up and run the product on embedded defaults (SQLite, eager Celery) with demo data.
run: demo-data
	@echo "Admin:  http://$(HOST):$(PORT)/admin/   (login printed above; password also in .env)"
	@echo "API:    http://$(HOST):$(PORT)/api/docs/"
	$(PY) manage.py runserver $(HOST):$(PORT)

## Second command: set up and run the whole test suite.
test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

worker: install
	$(VENV)/bin/celery -A commerce_hq worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A commerce_hq beat --loglevel=info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
