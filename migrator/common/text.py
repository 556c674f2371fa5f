"""How lists and sizes are shown to people, written once."""
from __future__ import annotations

from typing import Iterable

SHOWN = 20  # items named in one line before the rest is only counted


def human_size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= (1 << 20) else f"{max(n >> 10, 1)} KiB"


def first_items(items: Iterable[object], total: int | None = None, limit: int = SHOWN, sep: str = ", ") -> str:
    """``a, b, c … (+N)``: the first ``limit`` items, then how many more (``total`` when the
    caller kept only the first ones)."""
    shown = [str(i) for i in items]
    count = len(shown) if total is None else total
    head = shown[:limit]
    return sep.join(head) + (f" … (+{count - len(head)})" if count > len(head) else "")
