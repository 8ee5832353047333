#!/usr/bin/env bash
# The bundle's checks (`make dist-check`, run by CI): the folder built by `make dist` is copied
# outside the checkout and run there with an environment that has no Python and no virtual
# environment on PATH — as on a workstation: `doseprep plan --json`, a signed worksheet checked by
# `doseprep verify`, the README's whole command-line walkthrough (records, signatures, audit), and
# the window's --screenshot, whose picture must not be blank.
set -euo pipefail
checkout=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$checkout/dist/doseprep}
place=$(mktemp -d "${TMPDIR:-/tmp}/doseprep-bundle-check.XXXXXX")
trap 'rm -rf "$place"' EXIT
cp -a "$bundle" "$place/doseprep"
mkdir "$place/day" "$place/docs"
cp "$checkout/docs/walkthrough.sh" "$checkout/docs/reentry-example.json" "$place/docs/"
cd "$place/day"
run() {  # no Python, no .venv: only the bundle and the system's own tools on PATH
    env -i HOME="$place/home" PATH="$place/doseprep:/usr/bin:/bin" LANG=C.UTF-8 \
        QT_QPA_PLATFORM=offscreen DOSEPREP_DATA_DIR="$place/day/data" \
        DOSEPREP_CONFIG_DIR="$place/day/config" DOCS="$place/docs" "$@"
}
run doseprep example request.json
run doseprep plan request.json --json > plan.json
grep -q '"status": "ok"' plan.json || { echo "bundle: plan --json did not say ok"; exit 1; }
run doseprep worksheet request.json -o worksheet.pdf
run doseprep verify worksheet.pdf | grep -q '^VALID DRAFT: worksheet.pdf' \
    || { echo "bundle: the worksheet did not verify"; exit 1; }
run doseprep-window --screenshot window.png --size 1366x768 --request request.json
# A PNG of a real window is tens of kilobytes; a blank or failed grab is not.
size=$(wc -c < window.png)
[ "$size" -gt 20000 ] || { echo "bundle: the window screenshot is $size bytes"; exit 1; }
mkdir walkthrough && cd walkthrough
run bash "$place/docs/walkthrough.sh" > walkthrough.log
grep -q "audit trail OK" walkthrough.log || { echo "bundle: walkthrough incomplete"; exit 1; }
echo "bundle checks passed: plan --json, worksheet + verify, window screenshot ($size bytes)," \
     "README walkthrough — from $place, no Python on PATH"
