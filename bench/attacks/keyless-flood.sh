#!/usr/bin/env bash
# Memory of `calhook serve` under a flood of keyless, oversized admin requests (loopback only).
# Sends COUNT concurrent `POST /v1/watches` without an API key, each announcing and sending a BODY_MB body, and
# prints the service's resident memory before and its peak (VmHWM) after, from /proc.
# Usage: bench/attacks/keyless-flood.sh [path/to/calhook.dll] [COUNT=48] [BODY_MB=25]
# Default dll: the build output of the test project (dotnet build first).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
dll="${1:-$here/tests/Calhook.Tests/bin/Debug/net10.0/calhook.dll}"
count="${2:-48}"
body_mb="${3:-25}"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 10000))
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# A well-formed start, so a service that binds before it authenticates reads (and buffers) the whole value.
{ printf '{"accountId":"'; head -c "$((body_mb * 1024 * 1024))" /dev/zero | tr '\0' 'x'; printf '","calendarId":"a@example.com"}'; } > "$work/body"
dotnet "$dll" serve --urls "http://127.0.0.1:$port" --data "$work/data" --google-url http://127.0.0.1:9 \
  --api-key chk_bench_0123456789abcdefghij > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  sleep 0.1
done

rss() { awk "/^$1:/ {print int(\$2 / 1024)}" "/proc/$pid/status"; }
before=$(rss VmRSS)
start=$(date +%s.%N)
for i in $(seq 1 "$count"); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
    --data-binary "@$work/body" "http://127.0.0.1:$port/v1/watches" >> "$work/codes" 2>/dev/null &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
echo "requests: $count keyless POST /v1/watches with ${body_mb} MB bodies; answers: $(sort "$work/codes" | uniq -c | tr -s ' ' | tr '\n' ';')"
echo "time: ${elapsed} s"
echo "serve memory: ${before} MB before, $(rss VmRSS) MB after, peak $(rss VmHWM) MB"
