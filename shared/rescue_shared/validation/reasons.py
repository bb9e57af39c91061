"""Free-text reasons (invalidations, corrections): enough real words to mean something.

A word is a run of letters (any script) of at least two letters: `x.y.z......` or `1 2 3` is no
reason, `entered in error` is. Auditors read these reasons years later; punctuation alone or
initials tell them nothing.
"""

from __future__ import annotations

import re

MIN_REASON_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


def reason_words(text: str) -> list[str]:
    """The words of letters in `text`, in order."""
    return _WORD.findall(text)


def reason_is_meaningful(text: str, min_words: int = MIN_REASON_WORDS) -> bool:
    """True when `text` holds at least `min_words` words of two or more letters."""
    return len(reason_words(text)) >= min_words
