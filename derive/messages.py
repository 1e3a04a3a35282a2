"""Messages for the user: one line each, whatever the text they quote holds."""
from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown as escapes, so it prints as one line."""
    return "".join(_ESCAPES.get(ch, f"\\x{ord(ch):02x}") if ord(ch) < 0x20 or ord(ch) == 0x7F else ch
                   for ch in text)


def say(line: str, code: int) -> int:
    """The command's last word, one line on stderr; in the worker it goes to the supervising process, which
    prints it (so that a time-out at the same moment cannot add a second line).  Returns ``code``."""
    import sys

    from . import budget

    if budget.in_child():
        budget.report("final", f"{code} {one_line(line)}")
    else:
        print(one_line(line), file=sys.stderr)
    return code
