#!/bin/sh
# Make sure a Chromium is available for the HTML report's browser tests (tests/docs).
# Installs Debian's `chromium` with apt-get when it is missing and we may install packages;
# otherwise says why not and succeeds, so the browser tests skip with that reason.
set -u
for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get here; install Chromium by hand to run the browser tests" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure-chromium: not root and no passwordless sudo; the browser tests will be skipped" >&2
    exit 0
fi
echo "ensure-chromium: installing Debian's chromium (apt-get update, apt-get install -y chromium)" >&2
if $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium; then
    exit 0
fi
echo "ensure-chromium: apt-get could not install chromium; the browser tests will be skipped" >&2
exit 0
