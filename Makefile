PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# mypy cannot follow setuptools' editable finder (backoffice -> src), so it reads the
# package through this link instead.
MYPY_ROOT := build/mypy

.PHONY: run test lint typecheck bench package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(MYPY_ROOT)/backoffice:
	mkdir -p $(MYPY_ROOT)
	ln -sfn ../../src $(MYPY_ROOT)/backoffice

run: $(VENV)/.installed
	$(BIN)/backoffice demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev $(MYPY_ROOT)/backoffice
	MYPYPATH=$(MYPY_ROOT) $(BIN)/mypy -p backoffice

test: lint typecheck
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

# The Lambda bundle: the library, its runtime dependencies and the intake readers (PDF, DOCX,
# XLSX) for Linux arm64 / Python $(LAMBDA_PYTHON).
# boto3 is left to the Lambda runtime's copy.
LAMBDA_PYTHON := 3.14
package: $(BIN)/python
	rm -rf build/lambda build/backoffice-lambda.zip
	$(BIN)/pip install --quiet --target build/lambda --platform manylinux2014_aarch64 \
		--implementation cp --python-version $(LAMBDA_PYTHON) --only-binary=:all: --upgrade ".[intake]"
	# Lambda's code directory is read-only and a zip keeps mtimes to two seconds, so only
	# unchecked-hash bytecode for the runtime's own Python spares each cold start compiling the
	# bundle (40-45 ms of CPU for this project's modules alone).
	@if [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$(LAMBDA_PYTHON)" ]; then \
		$(BIN)/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash build/lambda; \
	else \
		echo "warning: built with Python $$($(BIN)/python -V), not $(LAMBDA_PYTHON): the bundle's bytecode is not the runtime's, so every cold start compiles it (make package PYTHON=python$(LAMBDA_PYTHON))"; \
	fi
	rm -rf build/lambda/boto3 build/lambda/botocore build/lambda/s3transfer
	# Only the Google APIs the adapters build (Sheets, Drive, Calendar) keep their bundled
	# discovery documents: the other ~600 would take half of Lambda's 250 MB.
	find build/lambda/googleapiclient/discovery_cache/documents -name '*.json' \
		! -name 'sheets.v4.json' ! -name 'drive.v3.json' ! -name 'calendar.v3.json' -delete
	cd build/lambda && $(abspath $(BIN)/python) -m zipfile -c ../backoffice-lambda.zip .
	@echo "Upload build/backoffice-lambda.zip to your code bucket (see deploy/README.md)."

clean:
	rm -rf $(VENV) build *.egg-info
