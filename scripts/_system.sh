# Sourced by scripts/test: system packages the browser tests need (Debian's chromium; a registry
# package, never a browser download). Installed only when missing and we may install (root).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test: installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/test: chromium is missing and cannot be installed here (not root);" \
      "browser tests will be skipped (they fail under CI=true)" >&2
  fi
fi
