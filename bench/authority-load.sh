#!/usr/bin/env bash
# authority-load.sh: signed deposits/s and recovery latency of the backup
# authority with concurrent clients, on SQLite, on PostgreSQL with one
# serve instance and with two (issue #11). See bench/README.md.
#
#   bash bench/authority-load.sh                        # 32 clients, 30 s per phase
#   DURATION=3s SETUPS=sqlite bash bench/authority-load.sh
#
# Environment:
#   DURATION          length of the deposit phase per setup (default 30s)
#   RECOVERY_DURATION length of the recovery phase (default: DURATION)
#   CLIENTS           concurrent clients (default 32)
#   SETUPS            comma-separated: sqlite, postgres, postgres2
#                     (default all three)
#   ARGON2            verifiers' Argon2id: default (as serve) or min
#   BENCH_TMPDIR      parent of the scratch dir (default $TMPDIR or /tmp);
#                     SQLite's file goes there: use a real disk, not tmpfs
#   BENCH_OUTDIR      where the Markdown report goes (default bench/out)
#
# PostgreSQL: a throwaway cluster (initdb + pg_ctl, as internal/pgtest
# starts it for the tests); without PostgreSQL the postgres setups fail
# with a message saying what to install. Needs no stdin.
set -Eeuo pipefail

prog=authority-load
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
trap 'rc=$?; if [[ $BASHPID == "$$" ]]; then say "error: command failed (exit $rc) at line $LINENO: $BASH_COMMAND"; fi' ERR

DURATION=${DURATION:-30s}
RECOVERY_DURATION=${RECOVERY_DURATION:-$DURATION}
CLIENTS=${CLIENTS:-32}
SETUPS=${SETUPS:-sqlite,postgres,postgres2}
ARGON2=${ARGON2:-default}
[[ $DURATION =~ ^[0-9]+(ms|s|m)$ ]] || die "DURATION must be like 30s, got '$DURATION'"
[[ $RECOVERY_DURATION =~ ^[0-9]+(ms|s|m)$ ]] || die "RECOVERY_DURATION must be like 30s, got '$RECOVERY_DURATION'"
[[ $CLIENTS =~ ^[0-9]{1,4}$ ]] && ((10#$CLIENTS > 0)) || die "CLIENTS must be a positive number, got '$CLIENTS'"
[[ $SETUPS =~ ^(sqlite|postgres|postgres2)(,(sqlite|postgres|postgres2))*$ ]] || die "SETUPS must list sqlite, postgres, postgres2, got '$SETUPS'"
[[ $ARGON2 == default || $ARGON2 == min ]] || die "ARGON2 must be default or min, got '$ARGON2'"
command -v go >/dev/null || die "go not found"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/keyblob-authority-load.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

say "building bench/authorityload"
(cd "$root" && go build -o "$tmp/authorityload" ./bench/authorityload) || die "go build ./bench/authorityload failed"

fstype=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 {print $2}')
say "running: setups $SETUPS, $CLIENTS clients, deposits $DURATION, recoveries $RECOVERY_DURATION (scratch on ${fstype:-unknown})"
"$tmp/authorityload" -setups "$SETUPS" -clients "$CLIENTS" -duration "$DURATION" \
	-recovery-duration "$RECOVERY_DURATION" -argon2 "$ARGON2" -tmpdir "$tmp" >"$tmp/table.md" ||
	die "the load program failed (its messages are above)"

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu ]] || cpu=$(uname -m)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)
rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
pgver=$( (pg_config --version 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n1) | head -n1)
report=$tmp/report.md
{
	echo "# keyblob backup authority under load"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- load: $CLIENTS concurrent clients, each its own owner; deposits for $DURATION, then whole recoveries (request, complete, fetch keys) for $RECOVERY_DURATION; Argon2id $ARGON2"
	echo "- machine: $(nproc) CPUs, $cpu, $mem RAM, Linux $(uname -r); SQLite file on ${fstype:-unknown}"
	echo "- keyblob: $rev, built with $(go version | awk '{print $3}'); PostgreSQL: ${pgver:-not found}"
	echo
	cat "$tmp/table.md"
	echo
	echo "Latencies are each request's wall time at the client (a recovery: its three"
	echo "signed requests, two Argon2id code checks and the re-wrap of the owner's keys),"
	echo "over the successes; errors are counted apart. The clients run on the same"
	echo "machine as the servers and PostgreSQL and share their CPUs."
	echo "Target (issue #11): ≥ 2,000 deposits/s on SQLite (synchronous=FULL), p99 < 50 ms."
} >"$report"

echo
cat "$report"
echo

outdir=${BENCH_OUTDIR:-$root/bench/out}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
if mkdir -p "$outdir" 2>/dev/null && cp "$report" "$outdir/authority-load-$stamp.md" 2>/dev/null; then
	say "report written to $outdir/authority-load-$stamp.md"
else
	say "warning: cannot write to $outdir; the report is printed above only"
fi
