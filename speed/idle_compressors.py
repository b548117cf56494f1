"""Idle WebSockets let go of their compressor (IDLE_COMPRESSOR_SECONDS; 0 turns it off).

permessage-deflate keeps a zlib compressor per socket for the socket's life (its window, hash
chains and buffers, sized by what uvicorn asks for), the larger part of what an idle
subscription holds (`python -m bench.memory --deflate` lists it). A socket that has sent
nothing for IDLE_COMPRESSOR_SECONDS lets it go, and its next message is compressed by a new
one. RFC 7692 allows this: a compressor that starts afresh refers to nothing sent before it,
which the client's decompressor, keeping its own window, reads as ever. Only that first
message loses the earlier window's savings.

The socket's decompressor goes too: the layer asks the client to compress each of its
messages on its own (client_no_context_takeover), and websockets then makes a decompressor
per message received and drops it after.

uvicorn makes the extension through websockets' factory (compat/uvicorn.py); this layer's
factory makes the same extension, of a class that can let go of its compressor. The sweep
then asks the C allocator to give what was freed back to the system: glibc keeps freed
blocks of this size in the process otherwise, and the memory would stay taken.

uvicorn's factory is the process's, and so is the sweep's view: every socket of the
process. With several apps in one process (as in the tests), each sweeps them all, by its
own setting.
"""

import asyncio
import ctypes
import ctypes.util
import weakref
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode

# The first frame of a message: a continuation frame, or a control frame, is never one.
_MESSAGE_STARTS = (Opcode.TEXT, Opcode.BINARY)
# Every extension of this process's sockets that can let go of its compressor.
_EXTENSIONS: "weakref.WeakSet[ReleasableDeflate]" = weakref.WeakSet()


class ReleasableDeflate(PerMessageDeflate):
    """websockets' permessage-deflate, whose compressor can be let go of between messages
    and is made anew for the next one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_sent = asyncio.get_running_loop().time()
        _EXTENSIONS.add(self)

    @property
    def holds_compressor(self) -> bool:
        return hasattr(self, "encoder")

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode in _MESSAGE_STARTS:
            self.last_sent = asyncio.get_running_loop().time()
            if not self.holds_compressor:  # let go of: made anew
                self.encoder = zlib.compressobj(
                    wbits=-self.local_max_window_bits, **self.compress_settings
                )
        return super().encode(frame)

    def release_if_idle(self, since: float) -> bool:
        """Let go of the compressor when nothing was sent after `since` (a loop time); True
        when it was let go of now. Called between messages: uvicorn encodes each message
        whole, in one call."""
        if self.last_sent > since or not self.holds_compressor:
            return False
        del self.encoder
        return True


class ReleasableDeflateFactory(ServerPerMessageDeflateFactory):
    """websockets' server factory, called as uvicorn calls it, negotiating as it does but
    for one parameter; the extension it makes is a ReleasableDeflate.

    The parameter: the client compresses each of its messages on its own
    (client_no_context_takeover, which RFC 7692 lets a server ask for), so the socket keeps
    no decompressor between the messages it receives. A client sends few and small ones
    (subscribe, pong, complete): their compression gains little from the earlier window.
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**{**settings, "client_no_context_takeover": True})

    def process_request_params(
        self, params: Sequence[tuple[str, str | None]], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[tuple[str, str | None]], PerMessageDeflate]:
        response, made = super().process_request_params(params, accepted_extensions)
        return response, ReleasableDeflate(
            made.remote_no_context_takeover,
            made.local_no_context_takeover,
            made.remote_max_window_bits,
            made.local_max_window_bits,
            made.compress_settings,
        )


def releasable_extensions() -> list[ReleasableDeflate]:
    """The extensions of this process's open sockets that can let go of their compressor."""
    return list(_EXTENSIONS)


def _heap_trimmer() -> Callable[[], object] | None:
    """glibc's malloc_trim(0), which gives freed memory back to the system; None on a C
    library without it."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    return None if trim is None else lambda: trim(0)


_trim_heap = _heap_trimmer()


async def release_idle_compressors_forever(seconds: float) -> None:
    """Every `seconds`, the sockets that sent nothing for `seconds` let go of their
    compressors, and the memory goes back to the system."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(seconds)
        since = loop.time() - seconds
        released = [extension.release_if_idle(since) for extension in releasable_extensions()]
        if any(released) and _trim_heap is not None:
            _trim_heap()
