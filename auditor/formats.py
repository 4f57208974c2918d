"""The report formats: each names its renderer (`reports.*`) as "module:function", imported
only when that format is rendered, so the engine never imports the renderers at load time
(a JSON-only scan never loads the PDF engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import BinaryIO

from auditor.errors import UsageError


@dataclass(frozen=True)
class Format:
    name: str
    filename: str  # file name inside the output folder
    target: str  # "module:function" taking the result dict, returning str or bytes
    streamer: str = ""  # "module:function" writing the result into a binary stream, if any

    def renderer(self) -> Callable[[dict], str | bytes]:
        return _resolve(self.target)

    def render(self, result: dict) -> bytes:
        out = self.renderer()(result)
        return out.encode("utf-8") if isinstance(out, str) else out

    def write(self, result: dict, out: BinaryIO) -> None:
        """The rendered report into `out`; streamed where the format can be, so a large
        result is never held as one text as well."""
        if self.streamer:
            _resolve(self.streamer)(result, out)
        else:
            out.write(self.render(result))


def _resolve(target: str) -> Callable:
    module, func = target.split(":")
    return getattr(import_module(module), func)


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("json", "report.json", "reports.json_report:render", "reports.json_report:write"),
        Format("html", "report.html", "reports.html_report:render"),
        Format("pdf", "report.pdf", "reports.pdf_report:render"),
        Format("junit", "report.junit.xml", "reports.junit_report:render"),
        Format("sarif", "report.sarif", "reports.sarif_report:render"),
        Format("md", "report.md", "reports.markdown_report:render"),
    )
}


def parse_formats(text: str) -> list[Format]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--format needs at least one of: " + ", ".join(FORMATS))
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r}; choose from: {', '.join(FORMATS)}")
    return [FORMATS[n] for n in dict.fromkeys(names)]
