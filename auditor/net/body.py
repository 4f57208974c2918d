"""Reading the start of an HTTP body with a bound on what it inflates to.

httpx decodes `Content-Encoding` one network chunk at a time with no limit on what one chunk
inflates to, so a few kilobytes of gzip become gigabytes in memory (a gzip bomb). It has no
option for a limit, hence this module: the probes read the raw bytes and inflate them here with
zlib's `max_length`, stopping at the cap. Only the encodings the probes ask for (gzip, deflate)
are decoded; a body in any other encoding is kept as it came (no proof reads it as a document).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

ACCEPT_ENCODING = "gzip, deflate"
RAW_FACTOR = 16  # raw bytes read per decoded byte allowed, at most (a stream that never inflates)


class _Inflater:
    """One `Content-Encoding` step (gzip or deflate), inflating at most `limit` bytes a call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # deflate is meant to be zlib-wrapped, but servers send raw deflate too (as httpx does,
        # try the wrapper first, then raw).
        self._wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self.pending = b""
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        data = self.pending + data
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self._started:
                self._started = True
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, limit)
            raise httpx.DecodingError(f"{self.encoding} body cannot be decoded: {exc}") from None
        self._started = True
        self.pending = self._obj.unconsumed_tail
        return out


def _steps(content_encoding: str) -> list[_Inflater] | None:
    """Inflaters in the order they apply (last encoding first); None for one we do not decode."""
    names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
    names = [n for n in names if n != "identity"]
    if any(n not in ("gzip", "x-gzip", "deflate") for n in names):
        return None
    return [_Inflater(n) for n in reversed(names)]


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` decoded bytes of `response`'s body, never more in memory."""
    steps = _steps(response.headers.get("content-encoding", ""))
    raw_budget = limit * RAW_FACTOR
    body = bytearray()
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    async for chunk in chunks:
        raw_budget -= len(chunk)
        data = chunk
        if steps is None:
            body += data[: limit - len(body)]
        else:
            for step in steps:
                data = step.feed(data, limit - len(body))
            body += data
            # A step holds input back only when its output reached the limit it was given;
            # with room left, each round consumes some of it.
            while len(body) < limit and any(s.pending for s in steps):
                data = b""
                for step in steps:
                    data = step.feed(data, limit - len(body))
                body += data
        if len(body) >= limit or raw_budget <= 0:
            break
    return bytes(body)
