"""Small rules of English the reports share, so every command words things the same way."""

from __future__ import annotations


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article: 'an Interp layer', 'a ReLU', 'an 8 GB card'.

    By the first letter (and 8, 11, 18 for numbers), which is right for the layer types and device
    names reports show; acronyms spelled by letter ('an LRN', 'an SSD') count as their letter's sound.
    """
    first = word[:1]
    vowel = first in "AEIOUaeiou8" or (word[:2] == "11" and not word[:3].isdigit()) or word[:2] == "18"
    if first in "FHLMNRSX" and (len(word) == 1 or word[1:2].isupper() or word[1:2].isdigit()):
        vowel = True  # spelled letter by letter: eff, aitch, ell, em, en, ar, ess, ex
    return f"{'an' if vowel else 'a'} {word}"
