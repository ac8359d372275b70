"""A line's shape: the line with every ASCII digit as 0.

A long log's lines differ mostly in their numbers (a step, a loss, a time, a batch size):
with the digits as 0 they are a few distinct shapes. A pattern that tells no digit from
another (it has `\\d` and no digit of its own) matches a line and its shape at the same
places, so what depends only on such patterns is worked out once per shape
(segments' block anchors, the prose GPU reader's hint and candidates).
"""

from __future__ import annotations

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def digit_shape(line: str) -> str | None:
    """`line` with every ASCII digit as 0; None for a line that is not ASCII."""
    return ascii_digit_shape(line) if line.isascii() else None


def ascii_digit_shape(ascii_line: str) -> str:
    """The digit shape of a line known to be ASCII."""
    return ascii_line.encode("ascii").translate(_DIGITS_AS_ZERO).decode("ascii")
