# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench browser grid

run: $(STAMP) browser
	$(PY) -m project.supervisor

test: $(STAMP) browser grid
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP) browser
	$(PY) -m tests.benchmarks.run
	$(PY) -m tests.benchmarks.carriers
	$(PY) -m tests.benchmarks.fanout
	$(PY) -m tests.benchmarks.usage
	$(PY) -m tests.benchmarks.usage_dashboard
	$(PY) -m tests.benchmarks.sellerbot
	$(PY) -m tests.benchmarks.chatbot

# Headless Chromium and its driver come from Debian's packages; nothing downloads a browser.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  echo "Installing Debian's chromium and chromium-driver"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The Selenium Grid test (tests/grid/) runs a real hub and two nodes: Java from Debian, and the
# Selenium server jar from the npm package @nightwatch/selenium-server, which ships it inside.
# Its install script would fetch the jar again from GitHub, so nothing of it is run: the jar is
# taken out of the packed tarball and checked against the hash pinned here.
SELENIUM_SERVER_VERSION := 4.20.0
SELENIUM_SERVER_SHA256 := 33456eb697cd82c8c40c1344fb92b876eaf15af27c11be22346747887bdf2ca5
SELENIUM_SERVER_JAR := var/grid/selenium-server-$(SELENIUM_SERVER_VERSION).jar

grid: $(SELENIUM_SERVER_JAR)
	@command -v java >/dev/null || { \
	  echo "Installing Debian's default-jre-headless (the Selenium Grid runs on Java 11 or newer)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; }

$(SELENIUM_SERVER_JAR):
	@command -v npm >/dev/null || { \
	  echo "Installing Debian's npm (to fetch the Selenium server jar)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent @nightwatch/selenium-server@$(SELENIUM_SERVER_VERSION) >/dev/null
	tar -xzOf $(@D)/nightwatch-selenium-server-$(SELENIUM_SERVER_VERSION).tgz package/lib/$(@F) >$@.part
	rm $(@D)/nightwatch-selenium-server-$(SELENIUM_SERVER_VERSION).tgz
	echo "$(SELENIUM_SERVER_SHA256)  $@.part" | sha256sum --check --quiet
	mv $@.part $@

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)
