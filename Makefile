# RapidAid: `make run` starts everything locally; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-tools clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "RapidAid needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: install
	exec $(BIN)/rapidaid dev --demo

test: install test-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -rsx

# Real clients and servers the tests use: Debian's Chromium for the board (Playwright's own browser download is not
# used), Debian's kcat for producing straight to the broker, Debian's prometheus (promtool for the alert rules, the server
# for a real scrape), and a JDK with Maven for Apache Kafka, whose jars Maven resolves from Maven Central (kafka/pom.xml).
test-tools:
	@command -v chromium >/dev/null && command -v kcat >/dev/null && command -v promtool >/dev/null && command -v java >/dev/null && command -v mvn >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk kcat prometheus openjdk-17-jdk-headless maven >/dev/null; } || \
		echo "chromium, kcat, prometheus, java or mvn missing and not installable here (needs root and apt): their tests will be skipped"; }

clean:
	rm -rf $(VENV) .rapidaid .pytest_cache
