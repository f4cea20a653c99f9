"""Reporters: one module per output format, each a `render(report, options) -> str`, and
for the large formats a `render_pieces(report, options)` giving the same text in pieces.

Formats are looked up here, and imported only when used. Every reporter treats resource
names, tags and property values as untrusted text.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass

from prodcheck.errors import UserError
from prodcheck.outbound import clean, clean_output, clean_output_pieces
from prodcheck.report import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int | None = None
    # Show PASS and NOT_APPLICABLE findings one by one (terminal), not just counted.
    verbose: bool = False
    # SARIF: keep waived findings as results with an accepted suppression (left out otherwise).
    sarif_include_waived: bool = False
    # Markdown: where the full report is published (an http(s) URL), to link to it.
    report_url: str = ""


# format name -> (module, default file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "terminal": ("prodcheck.reporters.terminal", "txt"),
    "json": ("prodcheck.reporters.json_report", "json"),
    "html": ("prodcheck.reporters.html", "html"),
    "sarif": ("prodcheck.reporters.sarif", "sarif"),
    "junit": ("prodcheck.reporters.junit", "xml"),
    "markdown": ("prodcheck.reporters.markdown", "md"),
    "csv": ("prodcheck.reporters.csv_report", "csv"),
}


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    return Renderer(report).render(fmt, options)


class Renderer:
    """Renders one report in several formats, cleaning it once for all of them.

    The exit of every format: no credential, no misleading character (see prodcheck.outbound).
    The report is cleaned once for the JSON format (strings masked, misleading characters left
    for JSON to escape) and once for every other format (masked and made visible), not once per
    format; the report must not change while its renderer is in use.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self._cleaned: dict[bool, Report] = {}

    def render(self, fmt: str, options: RenderOptions | None = None) -> str:
        return "".join(self.pieces(fmt, options))

    def pieces(self, fmt: str, options: RenderOptions | None = None) -> Iterator[str]:
        """The report in `fmt`, cleaned, in pieces of about a megabyte, as it is rendered.

        A reporter with a `render_pieces` hands its document over as it writes it, so that
        a large report is written to its file without ever existing whole.
        """
        try:
            module_name, _ = FORMATS[fmt]
        except KeyError:
            raise UserError(
                f"unknown format {fmt!r}: use one of {', '.join(sorted(FORMATS))}"
            ) from None
        module = importlib.import_module(module_name)
        visible = fmt != "json"
        cleaned = self._cleaned.get(visible)
        if cleaned is None:
            cleaned = self._cleaned[visible] = clean(self.report, visible=visible)
        options = options or RenderOptions()
        render_pieces = getattr(module, "render_pieces", None)
        if render_pieces is not None:
            return clean_output_pieces(render_pieces(cleaned, options), fmt)
        return iter([clean_output(str(module.render(cleaned, options)), fmt)])


def extension(fmt: str) -> str:
    return FORMATS[fmt][1]
