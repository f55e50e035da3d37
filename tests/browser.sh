#!/usr/bin/env bash
# Sourced by tests/run after tests/standins.sh: installs Debian's Chromium and ChromeDriver at
# the pinned version (the page tests drive a real headless Chromium over WebDriver), starts
# ChromeDriver on a free loopback port, and exports its address as WALLETPAY_WEBDRIVER. The
# stand-ins' cleanup stops it.
#
# Debian's security archive carries one version at a time: when it moves on, the install
# below fails naming the pin, and CHROMIUM_VERSION is bumped to what
# `apt-cache policy chromium` offers.
CHROMIUM_VERSION="156.0.8078.114-1~deb12u1"

installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
if [ "$(installed chromium)" != "$CHROMIUM_VERSION" ] || [ "$(installed chromium-driver)" != "$CHROMIUM_VERSION" ]; then
  log "installing chromium and chromium-driver $CHROMIUM_VERSION (Debian)"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq >/dev/null
  if ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
      "chromium=$CHROMIUM_VERSION" "chromium-driver=$CHROMIUM_VERSION" >/dev/null; then
    echo "cannot install chromium $CHROMIUM_VERSION; apt offers: $(apt-cache policy chromium | sed -n 's/ *Candidate: //p')" >&2
    exit 1
  fi
fi

DRIVER_PORT=$(free_port)
chromedriver --port="$DRIVER_PORT" --allowed-ips=127.0.0.1 >"$LOGS/chromedriver.log" 2>&1 &
pids+=($!)
wait_for "$DRIVER_PORT" chromedriver
log "ChromeDriver $(chromedriver --version | cut -d' ' -f2) on :$DRIVER_PORT"
export WALLETPAY_WEBDRIVER="http://127.0.0.1:$DRIVER_PORT"
export WALLETPAY_CHROMIUM=/usr/bin/chromium
# Screenshots of the page tests, one folder per test.
export WALLETPAY_TEST_OUTPUT="${CARGO_TARGET_DIR:-$(pwd)/target}/test-output"
