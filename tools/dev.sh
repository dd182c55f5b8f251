#!/usr/bin/env bash
# Developer entry point behind the Makefile: finds Odoo, builds the virtualenv, starts PostgreSQL
# when none answers, then runs the demo, the tests, the linters or the benchmarks.
#
#   tools/dev.sh demo | test | fuzz | lint | bench | bench-scale | venv | packages | odoo-path | i18n |
#                screenshots | test-packages
#
# Environment: ODOO_SRC (Odoo 19.0 source tree, default /opt/odoo; when it has none, Odoo 19.0 is
# cloned once from ODOO_GIT_URL into ~/.cache/clinic_sms/odoo, unless CLINIC_SMS_NO_FETCH=1),
# CLINIC_SMS_VENV (virtualenv, default ~/.cache/clinic_sms/venv-pyX.Y), PYTHON (interpreter used to
# create it, default python3), PGHOST/PGPORT/PGUSER (default: the local socket, current user),
# DEMO_DB (default clinic_demo), HTTP_PORT (default 8069).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo}
PYTHON=${PYTHON:-python3}
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV=${CLINIC_SMS_VENV:-$HOME/.cache/clinic_sms/venv-py$pyver}
DEMO_DB=${DEMO_DB:-clinic_demo}
HTTP_PORT=${HTTP_PORT:-8069}
export PGUSER=${PGUSER:-$(id -un)}

die() { echo "clinic_sms: $*" >&2; exit 1; }

# --- Odoo: ODOO_SRC, or a shallow clone of Odoo 19.0 fetched once into ~/.cache/clinic_sms/odoo --------
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
ODOO_CACHE=${CLINIC_SMS_ODOO_CACHE:-$HOME/.cache/clinic_sms/odoo}

is_odoo_tree() { [ -f "$1/odoo-bin" ] && [ -f "$1/odoo/release.py" ]; }

odoo_major() {
  sed -n 's/^version_info = (\([0-9]*\),.*/\1/p' "$1/odoo/release.py" | tr -d '\r'
}

# Clone branch 19.0 of ODOO_GIT_URL into ODOO_CACHE (depth 1), through a temporary directory, so an
# interrupted clone never leaves a half tree behind.
fetch_odoo() {
  local tmp="$ODOO_CACHE.partial.$$"
  echo "clinic_sms: no Odoo at ODOO_SRC=$ODOO_SRC; fetching Odoo 19.0 (a shallow clone, several hundred MB)
  from $ODOO_GIT_URL into $ODOO_CACHE (CLINIC_SMS_NO_FETCH=1 stops this)" >&2
  if [ -t 0 ] && [ -t 1 ] && [ -z "${CI:-}" ]; then
    local answer
    read -r -p "Fetch it now? [Y/n] " answer
    case "$answer" in [nN]*) die "not fetched; point ODOO_SRC at an Odoo 19.0 source tree." ;; esac
  fi
  command -v git >/dev/null || die "git is needed to fetch Odoo (apt-get install git)."
  mkdir -p "$(dirname "$ODOO_CACHE")"
  rm -rf "$tmp"
  if ! git clone -q --depth 1 --single-branch --branch 19.0 "$ODOO_GIT_URL" "$tmp"; then
    rm -rf "$tmp"
    die "could not clone branch 19.0 of $ODOO_GIT_URL (set ODOO_GIT_URL or ODOO_SRC)."
  fi
  is_odoo_tree "$tmp" || { rm -rf "$tmp"; die "$ODOO_GIT_URL (branch 19.0) has no odoo-bin and odoo/release.py."; }
  rm -rf "$ODOO_CACHE"
  mv "$tmp" "$ODOO_CACHE"
}

need_odoo() {
  if ! is_odoo_tree "$ODOO_SRC"; then
    if is_odoo_tree "$ODOO_CACHE"; then
      echo "clinic_sms: no Odoo at ODOO_SRC=$ODOO_SRC; using the one fetched into $ODOO_CACHE" >&2
      ODOO_SRC=$ODOO_CACHE
    elif [ "${CLINIC_SMS_NO_FETCH:-}" = 1 ]; then
      die "no Odoo 19.0 source tree at ODOO_SRC=$ODOO_SRC.
Install one (git clone --depth 1 -b 19.0 https://github.com/odoo/odoo \"$ODOO_SRC\", or any checkout
that has odoo-bin, odoo/ and addons/), or point ODOO_SRC at it, then run this again
(without CLINIC_SMS_NO_FETCH=1 the scripts fetch it themselves into $ODOO_CACHE)."
    else
      fetch_odoo
      ODOO_SRC=$ODOO_CACHE
    fi
  fi
  local ver
  ver=$(odoo_major "$ODOO_SRC")
  [ "$ver" = "19" ] || die "ODOO_SRC=$ODOO_SRC is Odoo ${ver:-of unknown version}, clinic_sms needs Odoo 19.0."
  export ODOO_SRC
}

# Community addons live in addons/ (odoo/odoo layout); the nightly layout keeps them in odoo/addons.
addons_path() {
  local p="$here"
  [ -d "$ODOO_SRC/addons" ] && p="$p,$ODOO_SRC/addons"
  p="$p,$ODOO_SRC/odoo/addons"
  echo "$p"
}

need_venv() {
  need_odoo
  local stamp="$VENV/.clinic_sms-stamp" want
  want=$(cat "$ODOO_SRC/requirements.txt" "$here/requirements.txt" "$here/requirements-test.txt" | sha1sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  echo "clinic_sms: preparing the virtualenv $VENV (first run takes a few minutes)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local tmp; tmp=$(mktemp -d)
  # cbor2 builds only with setuptools<81; python-ldap needs system headers and is not used here.
  echo 'setuptools<81' > "$tmp/constraints.txt"
  tr -d '\r' < "$ODOO_SRC/requirements.txt" | grep -viE '^python-ldap' > "$tmp/odoo-requirements.txt"
  "$VENV/bin/pip" install -q --upgrade pip wheel 'setuptools<81' 2>&1 | grep -v '^WARNING: Location' || true
  PIP_CONSTRAINT="$tmp/constraints.txt" PIP_BUILD_CONSTRAINT="$tmp/constraints.txt" \
    "$VENV/bin/pip" install -q \
    -r "$tmp/odoo-requirements.txt" -r "$here/requirements-test.txt"
  rm -rf "$tmp"
  echo "$want" > "$stamp"
}

need_pg() {
  if pg_isready -q 2>/dev/null; then return; fi
  if command -v pg_lsclusters >/dev/null 2>&1; then
    local cluster
    cluster=$(pg_lsclusters -h 2>/dev/null | head -n1 | awk '{print $1" "$2}')
    if [ -n "$cluster" ]; then
      echo "clinic_sms: starting PostgreSQL cluster $cluster"
      # shellcheck disable=SC2086
      pg_ctlcluster --skip-systemctl-redirect $cluster start || true
    fi
  fi
  if ! pg_isready -q 2>/dev/null; then
    # No packaged cluster: run a private one under ~/.cache, owned by the current user.
    local data="$HOME/.cache/clinic_sms/pgdata" bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$bindir" ] || die "PostgreSQL is not running and not installed (apt-get install postgresql)."
    if [ "$(id -u)" = 0 ]; then
      die "PostgreSQL is not running; start it (pg_ctlcluster <version> main start) and run this again."
    fi
    [ -d "$data" ] || "$bindir/initdb" -D "$data" -A trust -U "$PGUSER" >/dev/null
    "$bindir/pg_ctl" -D "$data" -l "$data/log" -o "-k /tmp" -w start
  fi
  pg_isready -q || die "PostgreSQL does not answer."
  # Odoo connects as the current user: make sure that role exists and may create databases.
  if ! psql -d postgres -tAc "select 1" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "createuser -s $PGUSER" 2>/dev/null || true
    fi
  fi
  psql -d postgres -tAc "select 1" >/dev/null 2>&1 || die "cannot connect to PostgreSQL as $PGUSER."
}

odoo() {
  "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" "$@"
}

cmd=${1:-}
shift || true
# Debian packages the tests need: Kannel (bearerbox, smsbox and the fake SMSC of kannel-extras)
# for the end-to-end gateway tests, Chromium for the browser tours. Installed when missing and
# allowed (root with apt-get); otherwise the tests that need them fail saying so.
have_chromium() {
  # The names Odoo's HttpCase looks for (odoo/tests/common.py, _find_executable).
  command -v google-chrome || command -v chromium || command -v chromium-browser \
    || command -v google-chrome-stable
} >/dev/null

need_test_packages() {
  local missing=() pair
  if ! command -v bearerbox >/dev/null || [ ! -x /usr/lib/kannel/test/fakesmsc ]; then
    missing+=(kannel kannel-extras)
  fi
  have_chromium || missing+=(chromium)
  for pair in $TOOL_PACKAGES; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  apt_install "for the tests" $(printf '%s\n' "${missing[@]}" | sort -u)
}

# --- Debian packages: the PDF statement's test renders with wkhtmltopdf and reads the PDF back with
# pdftotext (poppler-utils); the PO checks and tools/update_i18n.sh use gettext (msgfmt, msgmerge).
# Installed from Debian when missing and allowed; otherwise the tests and checks fail saying so.
TOOL_PACKAGES="wkhtmltopdf:wkhtmltopdf pdftotext:poppler-utils msgfmt:gettext msgmerge:gettext"

apt_install() {
  local why=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "clinic_sms: installing the Debian packages $* $why"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "clinic_sms: $* missing; $why will fail (sudo apt-get install $*)" >&2
  fi
}

need_tool_packages() {
  local pair missing=()
  for pair in $TOOL_PACKAGES; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install "for the tests and checks" $(printf '%s\n' "${missing[@]}" | sort -u)
}

# --- Checks shared by `make lint` and .pre-commit-config.yaml (each takes files, or checks them all).
check_xml() {
  [ $# -gt 0 ] || set -- $(cd "$here" && git ls-files -co --exclude-standard '*.xml')
  "$VENV/bin/python" - "$@" <<'PY'
import sys
from lxml import etree
bad = 0
for name in sys.argv[1:]:
    try:
        etree.parse(name)
    except (OSError, etree.XMLSyntaxError) as error:
        print(f"{name}: {error}")
        bad += 1
sys.exit(1 if bad else 0)
PY
}

# pylint-odoo with .pylintrc. clinic.sms.message is split on purpose over a file per job (fields and
# actions, dispatch, inbound: see DESIGN), which pylint-odoo's R8180 would merge back; .pylintrc
# enables the whole odoolint category, which a disable there cannot override, so it is turned off here.
run_pylint() {
  "$VENV/bin/pylint" --rcfile="$here/.pylintrc" --disable=consider-merging-classes-inherited "$@"
}

check_po() {
  [ $# -gt 0 ] || set -- $(cd "$here" && git ls-files -co --exclude-standard '*.po' '*.pot')
  command -v msgfmt >/dev/null || die "msgfmt is missing (apt-get install gettext)."
  local f rc=0 opts
  for f in "$@"; do
    # A template has no language: its header is not checked (-c would warn that 'Language' is missing).
    case "$f" in *.pot) opts="--check-format" ;; *) opts="-c --check-format" ;; esac
    # shellcheck disable=SC2086
    msgfmt $opts -o /dev/null "$f" || { echo "$f: msgfmt $opts failed" >&2; rc=1; }
  done
  return $rc
}

case "$cmd" in
  venv) need_venv ;;
  odoo-path)
    # Only find (or fetch) Odoo and print where it is.
    need_odoo
    echo "$ODOO_SRC"
    ;;
  packages)
    need_test_packages
    ;;
  demo)
    need_venv; need_pg
    state=$(psql -d "$DEMO_DB" -tAc "select state from ir_module_module where name='clinic_sms'" 2>/dev/null || true)
    if [ "$state" = "installed" ]; then
      echo "clinic_sms: updating clinic_sms in database $DEMO_DB"
      odoo -d "$DEMO_DB" -u clinic_sms --stop-after-init --log-level=warn
    else
      echo "clinic_sms: creating database $DEMO_DB with clinic_sms and its demo data (about a minute)"
      dropdb --if-exists "$DEMO_DB"
      odoo -d "$DEMO_DB" -i clinic_sms --with-demo --load-language=da_DK,de_DE,pl_PL \
        --stop-after-init --log-level=warn
      "$VENV/bin/python" "$ODOO_SRC/odoo-bin" shell --addons-path="$(addons_path)" -d "$DEMO_DB" \
        --no-http --log-level=warn >/dev/null <<'PY'
env.ref("base.user_admin").write({"password": "admin", "lang": "en_US"})
env.cr.commit()
PY
    fi
    echo "clinic_sms: serving http://127.0.0.1:$HTTP_PORT (login admin / admin); Ctrl+C stops it"
    exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" -d "$DEMO_DB" \
      --db-filter="^$DEMO_DB\$" --http-interface=127.0.0.1 --http-port="$HTTP_PORT" "$@"
    ;;
  test-packages) need_test_packages ;;
  test)
    need_venv; need_pg; need_test_packages
    VENV="$VENV" ODOO_SRC="$ODOO_SRC" exec "$here/tools/run_tests.sh" "$@"
    ;;
  fuzz)
    # The stateful test of the rule book (clinic_sms/tests/test_stateful.py), longer and random:
    # 5,000 examples unless CLINIC_SMS_FUZZ_EXAMPLES says otherwise. A falsifying sequence is printed
    # as a script of the machine's steps, with the @reproduce_failure line that replays it.
    need_venv; need_pg; need_test_packages
    CLINIC_SMS_FUZZ_RANDOM=1 CLINIC_SMS_FUZZ_EXAMPLES=${CLINIC_SMS_FUZZ_EXAMPLES:-5000} \
      VENV="$VENV" ODOO_SRC="$ODOO_SRC" exec "$here/tools/run_tests.sh" -k stateful "$@"
    ;;
  lint)
    need_venv
    cd "$here"
    # Every check runs (the same as .pre-commit-config.yaml's hooks); the exit status says if one failed.
    failed=""
    "$VENV/bin/ruff" check . || failed="$failed ruff"
    "$VENV/bin/ruff" format --check . || failed="$failed ruff-format"
    run_pylint clinic_sms || failed="$failed pylint-odoo"
    check_xml || failed="$failed xml"
    check_po || failed="$failed po"
    [ -z "$failed" ] || die "lint failed:$failed"
    ;;
  # The single checks, as .pre-commit-config.yaml runs them on the files of a commit.
  ruff|pylint)
    need_venv
    cd "$here"
    if [ "$cmd" = pylint ]; then run_pylint "$@"; exit; fi
    exec "$VENV/bin/ruff" "$@"
    ;;
  i18n)
    # tools/update_i18n.sh: the template from Odoo's export, merged into every translation.
    need_venv; need_pg; need_tool_packages
    VENV="$VENV" ODOO_SRC="$ODOO_SRC" exec "$here/tools/update_i18n.sh" "$@"
    ;;
  screenshots)
    # tools/screenshots.py against a running demo (make demo, or DEMO_DB=… HTTP_PORT=… tools/dev.sh demo),
    # in a small virtualenv of its own: playwright needs a newer greenlet than Odoo pins.
    shots_venv="$HOME/.cache/clinic_sms/venv-shots-py$pyver"
    want=$(sha1sum < "$here/requirements-shots.txt" | cut -c1-16)
    if [ "$(cat "$shots_venv/.clinic_sms-stamp" 2>/dev/null)" != "$want" ]; then
      echo "clinic_sms: preparing the virtualenv $shots_venv"
      [ -x "$shots_venv/bin/python" ] || "$PYTHON" -m venv "$shots_venv"
      "$shots_venv/bin/pip" install -q -r "$here/requirements-shots.txt"
      echo "$want" > "$shots_venv/.clinic_sms-stamp"
    fi
    [ -x /usr/bin/chromium ] || apt_install "for the screenshots" chromium
    exec "$shots_venv/bin/python" "$here/tools/screenshots.py" --base "http://127.0.0.1:$HTTP_PORT" "$@"
    ;;
  check-xml) need_venv; check_xml "$@" ;;
  check-po) check_po "$@" ;;
  bench)
    need_venv; need_pg
    ODOO_SRC="$ODOO_SRC" VENV="$VENV" ADDONS_PATH="$(addons_path)" exec "$VENV/bin/python" "$here/bench/run.py" "$@"
    ;;
  bench-scale)
    need_venv; need_pg
    cd "$here"
    ODOO_SRC="$ODOO_SRC" VENV="$VENV" ADDONS_PATH="$(addons_path)" exec "$VENV/bin/python" -m bench.scale "$@"
    ;;
  *)
    die "usage: tools/dev.sh demo|test|fuzz|lint|bench|bench-scale|venv|packages|test-packages|odoo-path|i18n|screenshots"
    ;;
esac
