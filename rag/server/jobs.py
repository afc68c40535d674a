"""Index runs started over HTTP: each a background thread whose progress can be polled."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rag.index.report import IndexProgress, IndexReport
from rag.server.errors import error_body

JobState = Literal["running", "done", "failed"]


@dataclass(frozen=True)
class JobStatus:
    """What `GET /v1/index/{id}` returns."""

    id: str
    state: JobState
    path: str
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    message: str | None = None
    report: dict[str, Any] | None = None
    """The finished run's `IndexReport.to_dict()`."""
    error: dict[str, Any] | None = None
    """Why the run failed (the REST error body)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Jobs:
    """The server's index jobs, newest last (kept for the life of the server)."""

    _jobs: dict[str, JobStatus] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def start(self, path: str, run: Callable[[Callable[[IndexProgress], None]], IndexReport]) -> JobStatus:
        """Start `run(progress)` in a thread; the job's status follows the progress events."""
        job = JobStatus(id=str(next(self._ids)), state="running", path=path)
        self._set(job)

        def progress(event: IndexProgress) -> None:
            with self._lock:
                now = self._jobs[job.id]
                self._jobs[job.id] = replace(
                    now,
                    files_done=event.files_done,
                    files_total=event.files_total or now.files_total,
                    chunks=event.chunks,
                    message=event.message,
                )

        def body() -> None:
            try:
                report = run(progress)
            except Exception as exc:
                self._update(job.id, state="failed", error=error_body(exc))
            else:
                failed = report.error is not None
                self._update(job.id, state="failed" if failed else "done", report=report.to_dict())

        threading.Thread(target=body, name=f"rag-index-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> JobStatus | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> bool:
        with self._lock:
            return any(j.state == "running" for j in self._jobs.values())

    def _set(self, job: JobStatus) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)


__all__ = ["JobState", "JobStatus", "Jobs"]
