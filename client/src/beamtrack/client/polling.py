"""What the REST and the gRPC client do alike on top of their own calls: following the pages of the job list and
polling a job until it has finished."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from beamtrack.spec.contract import TERMINAL_STATES

from .models import Job

#: one page of jobs: (state, limit, cursor) -> (jobs, the next page's cursor or None at the end)
ListPage = Callable[[str | None, int, str | None], tuple[list[Job], str | None]]


def iter_pages(list_page: ListPage, state: str | None, page_size: int) -> Iterator[Job]:
    """Every job ``list_page`` lists, page after page of ``page_size``, until a page has no next cursor."""
    cursor: str | None = None
    while True:
        items, cursor = list_page(state, page_size, cursor)
        yield from items
        if cursor is None:
            return


def wait_finished(get: Callable[[str], Job], job_id: str, timeout: float, poll_s: float) -> Job:
    """``get(job_id)`` every ``poll_s`` seconds until the job is in a terminal state; TimeoutError after ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = get(job_id)
        if job.state in TERMINAL_STATES:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
        time.sleep(poll_s)
