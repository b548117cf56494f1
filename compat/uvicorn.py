"""uvicorn's WebSocket protocol makes its permessage-deflate extension by calling websockets'
`ServerPerMessageDeflateFactory`, a name its module imports, with settings of its own and no
way to pass another factory: the one place that name is replaced. Only in the protocol that
`--ws auto` (the default) picks, websockets-sansio: the deprecated `--ws websockets` and
wsproto keep their own. tests/test_compat.py names uvicorn's version when this changes."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from uvicorn.protocols.websockets import websockets_sansio_impl

# The name the protocol calls.
FACTORY_NAME = "ServerPerMessageDeflateFactory"

# uvicorn's own factory; and the factory installed, once per block open.
_ORIGINAL = getattr(websockets_sansio_impl, FACTORY_NAME)
_installed: list[Callable[..., Any]] = []


@contextmanager
def deflate_factory(factory: Callable[..., Any]) -> Iterator[None]:
    """Inside the block, uvicorn's protocol makes its extension with `factory`, called as it
    calls websockets' factory. Process-wide, as uvicorn's name is: blocks may nest (apps
    of one process, in tests), with the same factory, and the last to leave puts uvicorn's
    own back."""
    if _installed and _installed[0] is not factory:
        raise RuntimeError("another permessage-deflate factory is installed in this process")
    if not _installed:
        setattr(websockets_sansio_impl, FACTORY_NAME, factory)
    _installed.append(factory)
    try:
        yield
    finally:
        _installed.pop()
        if not _installed:
            setattr(websockets_sansio_impl, FACTORY_NAME, _ORIGINAL)
