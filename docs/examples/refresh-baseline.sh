#!/usr/bin/env bash
# Refresh the committed baseline after the team has accepted the current state of the estate
# (for example, once a quarter, or after paying down findings). Review the diff before committing.
set -euo pipefail
prodcheck audit --config prodcheck.yaml --auth cli --format json --output new-baseline.json || [ $? -eq 1 ]  # 1 = gate failed: still a report
prodcheck diff baseline/prodcheck-report.json new-baseline.json --format markdown
mv new-baseline.json baseline/prodcheck-report.json
