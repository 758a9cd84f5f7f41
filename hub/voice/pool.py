"""A few child processes that decode and transcribe (hub/voice/child.py), driven from the event loop.

Why processes: decoding and recognition are CPU-bound native code. In a thread they would hold
the hub's GIL for seconds, and a crash in a decoder fed a hostile file would take the hub down;
in a child process they use another core, and a crash or a hang costs that child only: it is
killed (on a time limit) or found dead (its pipe closes), the request fails with ChildCrashed or
ChildTimeout, and the next request starts a fresh child. Children are plain programs
(`python -m hub.voice.child`), started on first use: a hub that never gets a voice note never
starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

from channels.base import PuenteError
from hub.voice.child import HEADER, decode_frame, encode

log = logging.getLogger(__name__)


class ChildCrashed(PuenteError):
    """The child died while working on the request."""


class ChildTimeout(PuenteError):
    """The child did not answer in time, and was killed."""


class ChildProblem(PuenteError):
    """The child answered that it cannot do it: code and params as in hub/voice/reasons.py."""

    def __init__(self, code: str, params: dict[str, Any]) -> None:
        super().__init__(code)
        self.code, self.params = code, params


class _Child:
    def __init__(self, argv: list[str]) -> None:
        self._argv = argv
        self.process: asyncio.subprocess.Process | None = None

    async def ensure(self) -> asyncio.subprocess.Process:
        if self.process is None or self.process.returncode is not None:
            self.process = await asyncio.create_subprocess_exec(
                *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        return self.process

    async def ask(self, op: str, args: dict[str, Any]) -> list[Any]:
        process = await self.ensure()
        assert process.stdin is not None and process.stdout is not None
        body = encode([op, args])
        process.stdin.write(HEADER.pack(len(body)) + body)
        await process.stdin.drain()
        (size,) = HEADER.unpack(await process.stdout.readexactly(HEADER.size))
        return decode_frame(await process.stdout.readexactly(size))

    async def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def close(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()  # end of requests: it exits
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


class EnginePool:
    def __init__(self, size: int, engine: str, command: str, store_root: str, threads: int = 1) -> None:
        argv = [sys.executable, "-m", "hub.voice.child", engine, command, store_root, str(max(1, threads))]
        self._children = [_Child(argv) for _ in range(max(1, size))]
        self._idle: asyncio.Queue[_Child] | None = None

    @property
    def size(self) -> int:
        return len(self._children)

    async def call(self, op: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one request in a free child: its result, or ChildProblem, ChildCrashed, ChildTimeout."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for child in self._children:
                self._idle.put_nowait(child)
        child = await self._idle.get()
        try:
            reply = await asyncio.wait_for(child.ask(op, args), timeout_s)
        except TimeoutError:
            log.warning("voice child did not answer %s within %.0f s: killed", op, timeout_s)
            await child.kill()
            raise ChildTimeout(op) from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            code = child.process.returncode if child.process else None
            log.error("voice child died during %s (exit code %s)", op, code)
            await child.kill()
            raise ChildCrashed(op) from None
        except BaseException:  # cancelled (the hub is stopping): the child's work is abandoned
            await asyncio.shield(child.kill())
            raise
        finally:
            self._idle.put_nowait(child)
        if reply[0] == "ok":
            return reply[1]
        raise ChildProblem(reply[1], reply[2])

    async def stop(self) -> None:
        await asyncio.gather(*(child.close() for child in self._children))
