"""Opening and closing many held event-stream followers over both doors (the stream load tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import grpc
import httpx


async def open_sse(client: httpx.AsyncClient, paths: Sequence[str], n: int, concurrency: int) -> list[httpx.Response]:
    """``n`` server-sent event streams, stream i on ``paths[i % len(paths)]``, opened at most ``concurrency`` at a time
    and all left open; each must answer 200."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> httpx.Response:
        async with sem:
            r = await client.send(client.build_request("GET", paths[i % len(paths)]), stream=True)
            assert r.status_code == 200
            return r

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def close_followers(
    sse: Sequence[httpx.Response], calls: Sequence[Any], channels: Sequence[grpc.aio.Channel]
) -> None:
    """Close the SSE responses, cancel the gRPC streaming calls, close their channels."""
    for r in sse:
        await r.aclose()
    for call in calls:
        call.cancel()
    for ch in channels:
        await ch.close()
