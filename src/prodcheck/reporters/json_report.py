"""The JSON report (`prodcheck.report/v1`): deterministic, sorted, schema-described.

Two runs over one snapshot give byte-identical output but for `generatedAt`. The schema
ships as `prodcheck/schemas/report-v1.schema.json`.
"""

from __future__ import annotations

import json

from prodcheck.report import Report
from prodcheck.reporters import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
