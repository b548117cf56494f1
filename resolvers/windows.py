"""The `messages(afterSequence, beforeSequence, first, last)` arguments, checked."""

from core.errors import BadUserInput
from db.messages import Window


def window_from_arguments(
    *,
    after_sequence: int | None,
    before_sequence: int | None,
    first: int | None,
    last: int | None,
) -> Window:
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise BadUserInput(f"{name} must be ≥ 0, got {value}.")
    return Window(
        after_sequence=after_sequence, before_sequence=before_sequence, first=first, last=last
    )
