#!/usr/bin/env bash
# Install every real server the test fixtures start (tests/peers/*.py), once, as root.
#
# Decides what a test machine needs and nothing else: Debian packages for Dovecot (IMAP, LMTP),
# Postfix, Request Tracker 5 (SQLite, standalone server), PostgreSQL and Prometheus (with
# promtool), plus the `vmail` system user Dovecot's private instances run mail as. Nothing is
# started or enabled here: /usr/sbin/policy-rc.d keeps apt from starting services, and every
# fixture starts its own throwaway instance on a free loopback port.
#
# Quick and idempotent: when every package is installed (a dpkg status check) it prints one
# line and exits. Not root, no apt-get, or offline: it prints one line per missing peer naming
# the tests that will be skipped and how to provision, and still exits 0 (the tests skip with
# a message, they never fail for a missing server). `--check` only reports; `--strict` exits 1
# when a peer is still missing at the end (for a CI that must run everything).
#
# Usage: tests/peers/provision.sh [--check] [--strict]
set -u
set -o pipefail

CHECK_ONLY=0
STRICT=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK_ONLY=1 ;;
    --strict) STRICT=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "provision: unknown argument $arg (use --check, --strict)" >&2; exit 2 ;;
  esac
done

# Peer name | packages (installed in this order: postfix before request-tracker5, or apt picks
# exim as the MTA RT depends on) | the tests that need it.
PEERS=(
  "postgresql|postgresql|PostgreSQL store tests (tests/daemon/test_store.py, test_migrations.py [postgresql])"
  "dovecot|dovecot-imapd dovecot-lmtpd openssl|IMAP source and mail-loop tests (Dovecot)"
  "postfix|postfix|SMTP mail-loop tests (Postfix relaying to Dovecot)"
  "request-tracker|request-tracker5 rt5-db-sqlite rt5-standalone w3m|Request Tracker helpdesk tests"
  "prometheus|prometheus|metrics and alert tests (tests/ops: a real Prometheus scraping helpdeskd, promtool)"
)
HOW="run \`sudo tests/peers/provision.sh\` (as root, with Debian's package archive reachable)"
APT_TIMEOUT=${PROVISION_APT_TIMEOUT:-1200}   # seconds per apt-get call; CI machines can be slow
LOG=${PROVISION_LOG:-${TMPDIR:-/tmp}/helpdeskd-provision.log}
T0=$EPOCHREALTIME

elapsed() { # seconds since $1 (an $EPOCHREALTIME), one decimal
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

installed() { # true when every package named is installed (dpkg status "ii")
  local pkg
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" = "ii " ] || return 1
  done
}

missing_of() { # the packages of "$@" that are not installed
  local pkg out=()
  for pkg in "$@"; do installed "$pkg" || out+=("$pkg"); done
  echo "${out[*]:-}"
}

has_vmail() { getent passwd vmail >/dev/null 2>&1; }

report_missing() { # one line per peer still missing: what is skipped, and how to fix it
  local entry name pkgs tests missing count=0
  for entry in "${PEERS[@]}"; do
    IFS='|' read -r name pkgs tests <<<"$entry"
    # shellcheck disable=SC2086  # word splitting of the package list is wanted
    missing=$(missing_of $pkgs)
    if [ -n "$missing" ]; then
      echo "peers: $name missing ($missing): $tests will be skipped; $HOW"
      count=$((count + 1))
    fi
  done
  if ! has_vmail; then
    echo "peers: user vmail missing: Dovecot tests will be skipped; $HOW"
    count=$((count + 1))
  fi
  return "$count"
}

apt_get() { # apt-get, noninteractive, waiting for a lock another apt may hold, bounded in time
  DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none NEEDRESTART_MODE=a \
    timeout "$APT_TIMEOUT" apt-get -y -q \
    -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" >>"$LOG" 2>&1
}

preseed() { # answers debconf would otherwise ask (postfix: local only; RT: no database setup)
  debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string localhost
request-tracker5 request-tracker5/install-database boolean false
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/rtname string example.test
request-tracker5 request-tracker5/organization string example.test
request-tracker5 request-tracker5/correspondaddress string rt@example.test
request-tracker5 request-tracker5/commentaddress string rt-comment@example.test
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1:8090
request-tracker5 request-tracker5/webpath string /rt
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
EOF
}

step() { # step NAME COMMAND...: run it, print how long it took, show the log tail on failure
  local name=$1 t=$EPOCHREALTIME rc
  shift
  echo "peers: $name ..."
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "peers: $name done in $(elapsed "$t") s"
  else
    echo "peers: $name FAILED (exit $rc) after $(elapsed "$t") s; last lines of $LOG:"
    tail -n 15 "$LOG" | sed 's/^/    /'
  fi
  return "$rc"
}

install_peer() { # install one peer's missing packages
  local name=$1 pkgs=$2 missing
  # shellcheck disable=SC2086
  missing=$(missing_of $pkgs)
  [ -z "$missing" ] && return 0
  if [ "$name" = request-tracker ] && ! installed postfix; then
    echo "peers: request-tracker not installed: postfix is missing and RT would pull in exim"
    return 1
  fi
  # shellcheck disable=SC2086
  step "install $name ($missing)" apt_get install --no-install-recommends $missing
}

make_vmail() {
  useradd --system --no-create-home --shell /usr/sbin/nologin vmail
}

all_present() {
  local entry name pkgs tests
  for entry in "${PEERS[@]}"; do
    IFS='|' read -r name pkgs tests <<<"$entry"
    # shellcheck disable=SC2086
    installed $pkgs || return 1
  done
  has_vmail
}

finish() {
  local missing=0
  report_missing || missing=$?
  if [ "$missing" -eq 0 ]; then
    echo "peers: every test server is installed ($(elapsed "$T0") s)"
    return 0
  fi
  echo "peers: $missing peer(s) missing after $(elapsed "$T0") s; their tests will skip"
  [ "$STRICT" -eq 1 ] && return 1
  return 0
}

main() {
  if all_present; then
    echo "peers: every test server is installed ($(elapsed "$T0") s)"
    return 0
  fi
  if [ "$CHECK_ONLY" -eq 1 ]; then finish; return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "peers: not root, installing nothing"
    finish
    return
  fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    echo "peers: apt-get not found (not Debian?), installing nothing"
    finish
    return
  fi
  : >"$LOG"
  echo "peers: installing what is missing; apt output goes to $LOG"
  step "debconf preseed" preseed
  # Update the package lists once; offline, the install below may still work from the cache.
  step "apt-get update" apt_get update || echo "peers: apt-get update failed (offline?); trying the installs anyway"
  local entry name pkgs tests
  for entry in "${PEERS[@]}"; do
    IFS='|' read -r name pkgs tests <<<"$entry"
    install_peer "$name" "$pkgs"
  done
  has_vmail || step "create system user vmail (Dovecot's mail owner)" make_vmail
  finish
}

main
