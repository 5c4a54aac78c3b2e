#!/usr/bin/env bash
# Smoke-test the frozen app in dist/Bridgewatch (built by `make package`), as .ci/run does:
#   1. `Bridgewatch --version` prints the version from pyproject.toml;
#   2. `Bridgewatch check --url` against `Bridgewatch simulate` from the same binary returns the expected JSON;
#   3. the tray app runs offscreen on a temporary BRIDGEWATCH_HOME for 5 s, stops on SIGINT with
#      exit code 0, and its log and stderr contain no traceback.
# Everything runs on 127.0.0.1. Exits non-zero at the first failed step.
set -euo pipefail
cd "$(dirname "$0")/.."

exe=dist/Bridgewatch/Bridgewatch
if [ ! -x "$exe" ]; then
    echo "smoke test: $exe is missing: run make package first." >&2
    exit 1
fi
work=$(mktemp -d)
simulator_pid=""
tray_pid=""
cleanup() {
    for pid in $simulator_pid $tray_pid; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "smoke test FAILED: $*" >&2
    exit 1
}

# 1. --version
expected_version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
version_output=$("$exe" --version)
[ "$version_output" = "bridgewatch $expected_version" ] || fail "--version printed '$version_output', expected 'bridgewatch $expected_version'"
echo "smoke test: --version: $version_output"

# 2. check --url against the frozen simulator; its first stdout line names the URL.
"$exe" simulate --port 0 >"$work/simulator.out" 2>"$work/simulator.err" &
simulator_pid=$!
url=""
for _ in $(seq 100); do
    url=$(sed -n '1s/^Simulated SCIM bridge on \(http:[^ ]*\) .*/\1/p' "$work/simulator.out")
    [ -n "$url" ] && break
    kill -0 "$simulator_pid" 2>/dev/null || fail "the simulator exited: $(cat "$work/simulator.err")"
    sleep 0.1
done
[ -n "$url" ] || fail "the simulator printed no URL within 10 s: $(cat "$work/simulator.out" "$work/simulator.err")"
echo "smoke test: simulator on $url"

check_status=0
BRIDGEWATCH_HOME="$work/check-home" SMOKE_TOKEN=smoke-test-token \
    "$exe" check --url "$url" --token-env SMOKE_TOKEN --json >"$work/check.json" 2>"$work/check.err" || check_status=$?
[ "$check_status" = 0 ] || fail "check --url exited $check_status: $(cat "$work/check.json" "$work/check.err")"
python3 - "$work/check.json" "$url" <<'EOF' || fail "check --url printed unexpected JSON: $(cat "$work/check.json")"
import json
import sys

document = json.load(open(sys.argv[1]))
url = sys.argv[2]
assert document["status"] == "healthy", document["status"]
(bridge,) = document["bridges"]
assert bridge["url"] == url, (bridge["url"], url)
assert bridge["probe"] == "monitoring", bridge["probe"]
assert bridge["status"] == "healthy", bridge["status"]
assert bridge["http_status"] == 200, bridge["http_status"]
assert bridge["error"] is None, bridge["error"]
assert bridge["components"], "no components"
assert all(component["status"] == "healthy" for component in bridge["components"]), bridge["components"]
print(f"smoke test: check --url: {bridge['status']}, {bridge['summary']}, {bridge['latency_ms']} ms")
EOF
# A non-interactive shell starts background jobs with SIGINT ignored, so the simulator gets SIGTERM.
kill "$simulator_pid"
wait "$simulator_pid" 2>/dev/null || true
simulator_pid=""

# 3. the tray app, offscreen, stopped with SIGINT: the app installs its own SIGINT handler, which
# replaces the "ignored" disposition that background jobs inherit here.
BRIDGEWATCH_HOME="$work/tray-home" QT_QPA_PLATFORM=offscreen "$exe" -v >"$work/tray.out" 2>"$work/tray.err" &
tray_pid=$!
sleep 5
kill -0 "$tray_pid" 2>/dev/null || fail "the tray app exited within 5 s: $(cat "$work/tray.out" "$work/tray.err")"
kill -INT "$tray_pid"
tray_status=0
for _ in $(seq 100); do
    kill -0 "$tray_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$tray_pid" 2>/dev/null && fail "the tray app still runs 10 s after SIGINT"
wait "$tray_pid" || tray_status=$?
tray_pid=""
[ "$tray_status" = 0 ] || fail "the tray app exited $tray_status after SIGINT: $(cat "$work/tray.err")"
log_file=$(find "$work/tray-home" -name '*.log' | head -n 1)
[ -n "$log_file" ] || fail "the tray app wrote no log file under its BRIDGEWATCH_HOME"
if grep -q "Traceback" "$log_file" "$work/tray.err"; then
    fail "a traceback in the tray app's output: $(cat "$log_file" "$work/tray.err")"
fi
grep -q "Bridgewatch stopped" "$log_file" || fail "the log does not end with 'Bridgewatch stopped': $(cat "$log_file")"
echo "smoke test: tray app ran 5 s offscreen and stopped on SIGINT with exit code 0; log: $(grep -c . "$log_file") lines, no traceback"
# The closing line in the form test runners print, for readers of the CI log.
echo "smoke: 3 passed, 0 failed"
