# The README's commands. Each sets up .venv from nothing when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench sample clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@tmp=$$(mktemp -d) && \
	  echo "== refdesk init: a new, empty workbook ==" && \
	  $(BIN)/refdesk init "$$tmp/new-practice.xlsx" && \
	  $(BIN)/refdesk --quiet summary --workbook "$$tmp/new-practice.xlsx" && \
	  rm -rf "$$tmp"
	@echo "== refdesk summary: the sample practice (config.toml) =="
	@$(BIN)/refdesk summary
	@echo "== refdesk check: the sample's planted mistakes (exit 1 means errors were found) =="
	@$(BIN)/refdesk check; status=$$?; [ $$status -le 1 ]
	@echo "== refdesk stats: where the sample practice's referrals come from =="
	@mkdir -p out && $(BIN)/refdesk --quiet stats --to 2026-10-31 --html out/report.html \
	  --xlsx out/stats.xlsx --csv out/stats && $(BIN)/refdesk --quiet stats --to 2026-10-31
	@echo "The report with charts: $(CURDIR)/out/report.html (open it in a browser);" \
	  "the stats workbook: out/stats.xlsx; one CSV file per table: out/stats/"
	@echo "== refdesk todo: this week's actions on the sample practice =="
	@$(BIN)/refdesk --quiet todo --on 2026-11-23
	@echo "== refdesk merge: the mail-merge jobs, and three thank-you letters as a preview =="
	@$(BIN)/refdesk merge
	@tmp=$$(mktemp -d) && \
	  $(BIN)/refdesk merge thank-you --preview 3 --out "$$tmp" --today 2026-11-23 && \
	  ls -l "$$tmp/thank-you" && rm -rf "$$tmp"

test: $(STAMP)
	$(BIN)/ruff check refdesk scripts tests
	$(BIN)/python -m pytest -n auto --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check refdesk scripts tests

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

sample: $(STAMP)
	$(BIN)/python scripts/build_sample.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
