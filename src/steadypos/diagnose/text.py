"""Small text helpers for what the reports say: plurals, and the font stack that shows Chinese."""

from __future__ import annotations

# Latin first, then the CJK fonts of each platform (Debian's fonts-noto-cjk, macOS, Windows),
# so the report's Chinese never shows as empty boxes where a CJK font is installed.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", sans-serif'
)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 episode', '2 episodes' ('1 source', '3 sources'); `many` for irregular plurals."""
    return f"{n} {word if n == 1 else many or word + 's'}"
