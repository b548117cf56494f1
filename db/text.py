"""Lengths of text as clients count them."""


def utf16_units(text: str) -> int:
    """The length of `text` as JavaScript counts it: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2
