"""Run an async service through the sync interface, so one test body asserts both shells.

``Blocking(obj)`` runs every coroutine ``obj`` returns on one event loop in a background thread
(callable from any thread, as the sync shells are), and turns async context managers and async
iterators into sync ones. Tests parametrized over ``SHELLS`` build either shell with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

SHELLS = ("sync", "async")

_T = TypeVar("_T")
_loop: asyncio.AbstractEventLoop | None = None
_guard = threading.Lock()


def loop() -> asyncio.AbstractEventLoop:
    """The event loop the async shells run on (started once, in a daemon thread)."""
    global _loop
    with _guard:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="async-shell", daemon=True).start()
        return _loop


def run(awaitable: Awaitable[_T]) -> _T:
    return asyncio.run_coroutine_threadsafe(_wrap(awaitable), loop()).result(timeout=120)


async def _wrap(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def build(factory: Callable[[], Awaitable[_T] | _T]) -> Blocking:
    """Build an async service inside the loop (clients bind to the loop they are made in)."""

    async def make() -> Any:
        made = factory()
        return await made if inspect.isawaitable(made) else made

    return Blocking(run(make()))


class Blocking:
    """The sync face of an async object."""

    def __init__(self, target: Any) -> None:
        self.__dict__["_target"] = target

    def __getattr__(self, name: str) -> Any:
        if name == "close":
            name = "aclose"
        value = getattr(self._target, name)
        if not callable(value):
            return value
        return lambda *args, **kwargs: _blocking(value(*args, **kwargs))

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __enter__(self) -> Blocking:
        run(self._target.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        run(self._target.__aexit__(*exc))


def _blocking(result: Any) -> Any:
    if inspect.isawaitable(result):
        result = run(result)
        return Blocking(result) if _is_service(result) else result
    if hasattr(result, "__aenter__"):
        return _context(result)
    if hasattr(result, "__aiter__"):
        return iter(run(_collect(result)))
    return result


def _is_service(value: Any) -> bool:
    """An async service (it has ``aclose``), e.g. what ``AsyncChecker.cache()`` returns."""
    return callable(getattr(value, "aclose", None))


@contextlib.contextmanager
def _context(manager: Any) -> Iterator[Any]:
    value = run(manager.__aenter__())
    try:
        yield value
    except BaseException as exc:
        if not run(manager.__aexit__(type(exc), exc, exc.__traceback__)):
            raise
    else:
        run(manager.__aexit__(None, None, None))


async def _collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]
