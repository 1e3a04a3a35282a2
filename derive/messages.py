"""Messages for the user: one line each, whatever the text they quote holds."""
from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown as escapes, so it prints as one line."""
    return "".join(_ESCAPES.get(ch, f"\\x{ord(ch):02x}") if ord(ch) < 0x20 or ord(ch) == 0x7F else ch
                   for ch in text)
