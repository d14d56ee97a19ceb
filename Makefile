# Everyday tasks; each is one command you can also type yourself (CONTRIBUTING.md).
# Set up first with the README's second command, or `make setup`.

PYTHON := .venv/bin/python
FAST := not synapse and not browser and not processes
SYNAPSE_VENV ?= $(HOME)/.cache/anniversary-bot/synapse-venv

.PHONY: setup test fast lint format types bench bench-scale synapse ci messages

setup:  ## the venv with the test tools and the example plugin (the README's test command)
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]' ./tests/example_plugin

test:  ## the full suite, a worker per core; what is missing (../shared, Synapse, Chromium) skips, saying why
	$(PYTHON) -m pytest -n auto

# Without ANNIVERSARY_BOT_SYNAPSE_VENV the contract suite talks to the fake homeserver
# instead of starting the real Synapse.
fast:  ## the fast suite: no real Synapse, no browser, no real processes
	env -u ANNIVERSARY_BOT_SYNAPSE_VENV $(PYTHON) -m pytest -m "$(FAST)"

lint:  ## what CI checks: ruff's rules and formatting
	.venv/bin/ruff check bot tests bench
	.venv/bin/ruff format --check bot tests bench

format:  ## fix what ruff can fix, then format
	.venv/bin/ruff check --fix bot tests bench
	.venv/bin/ruff format bot tests bench

types:  ## mypy on bot/ with the settings in pyproject.toml, as CI runs it
	.venv/bin/mypy

messages:  ## the phrases of the templates and the code into the catalogs (then translate the new ones)
	.venv/bin/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o bot/locales/messages.pot .
	.venv/bin/pybabel update -i bot/locales/messages.pot -d bot/locales --no-location --no-fuzzy-matching

bench:  ## the benchmarks, each figure beside its floor
	$(PYTHON) bench/run.py
	$(PYTHON) bench/platforms.py
	$(PYTHON) bench/plan.py
	$(PYTHON) bench/scale.py --factor 1

bench-scale:  ## the scale benchmarks at the shared data set and at ten times it (minutes)
	$(PYTHON) bench/scale.py --factor 1 --factor 10

synapse:  ## a real Synapse for the Matrix tests, in its own venv (about 45 s, 250 MB)
	bash tests/synapse/install.sh "$(SYNAPSE_VENV)"

ci:  ## everything CI does, as CI does it (as root: it installs Chromium with apt-get)
	CI=true bash .ci/run
