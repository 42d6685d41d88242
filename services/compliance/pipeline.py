"""How a report is made from the sources (``sources.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faramesh_cloud.compliance.domain import ReportView
from faramesh_cloud.compliance.jobs import MadeReport, Progress
from faramesh_cloud.compliance.sources import Sources


class ReportPipeline:
    def __init__(self, settings: Any, sources: Sources) -> None:
        self._settings = settings
        self._sources = sources

    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
        raise NotImplementedError("report rendering is being wired (issue #14, in progress)")


def report_maker(settings: Any, sources: Sources) -> ReportPipeline:
    return ReportPipeline(settings, sources)
