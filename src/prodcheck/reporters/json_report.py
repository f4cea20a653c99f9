"""The JSON report (`prodcheck.report/v1`): deterministic, sorted, schema-described.

Two runs over one snapshot give byte-identical output but for `generatedAt`. The schema
ships as `prodcheck/schemas/report-v1.schema.json`.
"""

from __future__ import annotations

from collections.abc import Iterator

from prodcheck.jsonfile import iter_indented
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    return "".join(render_pieces(report, options))


def render_pieces(report: Report, options: RenderOptions) -> Iterator[str]:
    # `render` cleaned the report and masks this text again (prodcheck.outbound); the JSON
    # report keeps misleading characters as JSON escapes, which read back as the same string.
    # The document is built only to be written: each finding is let go once it is text, and
    # the text is handed on finding by finding.
    return iter_indented(report.unmasked_json(), end="\n", release=("findings",))
