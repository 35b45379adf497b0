#!/usr/bin/env bash
# channel-vs-tls.sh: keyblob channels (v2, seed) against crypto/tls 1.3 and
# plain TCP over loopback, side by side in one run: bulk MB/s, handshakes
# per second with 32 clients, the RSA-2048 decryption bound, the server's
# CPU per handshake (server and clients in separate processes pinned to
# different CPUs with taskset), the seed fresh-key rate of a
# channel.Server with its key pool, and the ratios against issue #10's
# targets. See bench/README.md.
#
#   bash bench/channel-vs-tls.sh                       # 1 GiB bulk, 10 s per handshake row
#   SIZE=$((64<<20)) DURATION=2s bash bench/channel-vs-tls.sh
#
# Environment:
#   SIZE         bytes per bulk transfer (default 1073741824 = 1 GiB)
#   DURATION     length of each handshake measurement (default 10s)
#   CLIENTS      concurrent handshaking clients (default 32)
#   TIMEOUT      bound of one handshake attempt (connect, handshake, echo;
#                default 5s): slower attempts count as timed out
#   BENCH_OUTDIR where the Markdown report goes (default bench/out, git-ignored)
set -Eeuo pipefail

prog=channel-vs-tls
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
trap 'rc=$?; if [[ $BASHPID == "$$" ]]; then say "error: command failed (exit $rc) at line $LINENO: $BASH_COMMAND"; fi' ERR

SIZE=${SIZE:-$((1 << 30))}
DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-32}
TIMEOUT=${TIMEOUT:-5s}
[[ $SIZE =~ ^[0-9]{1,15}$ ]] || die "SIZE must be a number of bytes, got '$SIZE'"
[[ $CLIENTS =~ ^[0-9]{1,5}$ ]] || die "CLIENTS must be a small integer, got '$CLIENTS'"
[[ $DURATION =~ ^[0-9]+(ms|s|m)$ ]] || die "DURATION must be a Go duration such as 10s, got '$DURATION'"
[[ $TIMEOUT =~ ^[0-9]+(ms|s|m)$ ]] || die "TIMEOUT must be a Go duration such as 5s, got '$TIMEOUT'"
((10#$CLIENTS > 0)) || die "CLIENTS must be at least 1"
if ! command -v taskset >/dev/null; then
	say "taskset (util-linux) is not installed: the server CPU rows run unpinned (the report says so)"
elif (($(nproc) < 2)); then
	say "only $(nproc) CPU: the server CPU rows run unpinned (the report says so)"
fi
command -v go >/dev/null || die "go is not on PATH"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
outdir=${BENCH_OUTDIR:-$root/bench/out}
mkdir -p "$outdir"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

say "building bench/channelbench"
(cd "$root" && go build -o "$scratch/channelbench" ./bench/channelbench) || die "go build ./bench/channelbench failed"

report=$outdir/channel-$(date -u +%Y%m%dT%H%M%SZ).md
{
	printf '# channel-vs-tls, %s\n\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf -- '- CPU: %s (%s CPUs), kernel %s\n' "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || echo unknown)" "$(nproc 2>/dev/null || echo ?)" "$(uname -sr)"
	printf -- '- keyblob %s, %s\n\n' "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" "$(go version)"
	"$scratch/channelbench" -size "$SIZE" -duration "$DURATION" -clients "$CLIENTS" -timeout "$TIMEOUT"
} | tee "$report"
say "report saved to $report"
