"""The schema extensions' hooks looked up once per operation (EXTENSION_HOOKS_ONCE).

Strawberry runs the extensions of an operation through a runner, which for every result of
a subscription asks each extension anew whether it has an `on_stream_result` hook (making a
context manager of it each time) and collects every extension's `get_results`, though
almost none has either. For 1,000 subscribers of a session, that is 1,000 lookups per
event. This runner makes them at an operation's first result, then calls the same hooks in
the same order with each result: ErrorCodes still rewrites every result's errors.

A synchronous hook that is a generator function (ErrorCodes') is driven by hand, as the
context manager contextlib makes of it would drive it: making that manager for each result
costs more than the hook itself.
"""

import inspect
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from typing import Any, cast

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

from compat.strawberry import SchemaExtensionsRunner, StreamResultContextManager, WrappedHook


class HooksOnce(SchemaExtensionsRunner):
    _stream_hooks: list[WrappedHook] | None = None
    # The generator function of the one synchronous stream hook, if that is what it is.
    _stream_generator: Callable[[Any], Generator[None]] | None = None
    _with_results: list[SchemaExtension] | None = None

    # Strawberry only enters what this returns, with `async with`.
    def on_stream_result(self, result: Any) -> AbstractAsyncContextManager[None]:  # type: ignore[override]
        generator = self._stream_generator
        if generator is not None:
            return _OneGenerator(generator(result))
        hooks = self._stream_hooks
        if hooks is None:
            # Strawberry's own lookup, made once.
            hooks = self._stream_hooks = StreamResultContextManager(self.extensions, result).hooks
            if len(hooks) == 1 and not hooks[0].is_async:
                generator = self._stream_generator = _generator_function(hooks[0])
                if generator is not None:
                    return _OneGenerator(generator(result))
        if not hooks:
            return _NO_HOOKS
        if len(hooks) == 1 and not hooks[0].is_async:
            return _OneHook(hooks[0], result)
        return _KnownHooks(hooks, result)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        extensions = self._with_results
        if extensions is None:
            extensions = self._with_results = [e for e in self.extensions if _has_results(e)]
        data: dict[str, Any] = {}
        for extension in extensions:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data


def _has_results(extension: SchemaExtension) -> bool:
    """False when its `get_results` is SchemaExtension's own, which returns nothing."""
    return getattr(extension.get_results, "__func__", None) is not SchemaExtension.get_results


class _KnownHooks(StreamResultContextManager):
    """Strawberry's context manager around a streamed result, with its hooks looked up
    before."""

    def __init__(self, hooks: list[WrappedHook], result: Any) -> None:
        self.result = result
        self.hooks = hooks


class _OneHook:
    """The same, for one synchronous hook (ErrorCodes'): entered and left as the exit stack
    of Strawberry's would, which discards what it returns."""

    __slots__ = ("_manager",)

    def __init__(self, hook: WrappedHook, result: Any) -> None:
        self._manager = cast(AbstractContextManager[None], hook.hook(result))  # type: ignore[call-arg]

    async def __aenter__(self) -> None:
        self._manager.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self._manager.__exit__(*exc_info)


def _generator_function(hook: WrappedHook) -> Callable[[Any], Generator[None]] | None:
    """The generator function contextlib made `hook`'s context manager of, if it did."""
    function = getattr(hook.hook, "__wrapped__", None)
    return function if inspect.isgeneratorfunction(function) else None


class _OneGenerator:
    """The same, for one synchronous hook's generator: advanced once on entering and once
    on leaving, as contextlib's manager advances it. An exception leaving the block is
    thrown in by such a manager itself; either way, what leaving returns is discarded."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Generator[None]) -> None:
        self._generator = generator

    async def __aenter__(self) -> None:
        try:
            next(self._generator)
        except StopIteration:
            raise RuntimeError("generator didn't yield") from None

    async def __aexit__(self, *exc_info: Any) -> None:
        if exc_info[0] is not None:
            contextmanager(lambda: self._generator)().__exit__(*exc_info)
            return
        try:
            next(self._generator)
        except StopIteration:
            return
        raise RuntimeError("generator didn't stop")


class _NoHooks:
    __slots__ = ()

    async def __aenter__(self) -> None:
        pass

    async def __aexit__(self, *exc_info: Any) -> None:
        pass


_NO_HOOKS = _NoHooks()
