"""Other spellings of a Latin name token: older renderings of Russian names, and numbers.

German, Dutch and French writers rendered Russian names by their own spelling rules long
before BGN/PCGN: Wladimir Putin, Jewgeni Primakow, Tschernomyrdin, Poetin, Poutine,
Smirnoff, Gorbatchev. Lists spell them the English way, so a token that shows such a
rendering also gets the English-style spelling it stands for:

- German: w -> v, j -> y, sch -> sh, tsch -> ch, ch -> kh, -ow/-ew -> -ov/-ev;
- Dutch: oe -> u, tsj -> ch, sj -> sh;
- French: ou -> u, tch -> ch, ch -> sh, j -> zh, -ine -> -in, gue/gui -> ge/gi;
- any: -off/-eff -> -ov/-ev, a doubled s -> s;
- Latvian and Lithuanian: the case ending dropped (Lavrovs, Putinas, Vladimiras).

A token only gets these when it shows a mark of such a rendering (``_MARKS``), so English
names keep their one spelling (William is not Villiam).

Numbers: "forty-four", "fourty four" (one token each after the tokeniser), "3", "first" and
"1st" also read as digits, so Brigade Forty-Four meets Brigade 44.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["number_form", "respellings"]

_SLAVIC_END = r"(?:ow|ew|owa|ewa|off|eff|ov|ev|ova|eva|in|ina|ine|sky|ski|skij|skyj|ij|yj|itsch|ich|enko|yr|ir|slaw|uk|yk)$"
_MARKS = re.compile(
    r"tsch|sch|tsj|sj|tch|kh|zh|gu[ei]|^wl|^wj|ow$|ew$|owa$|ewa$|off$|eff$|ij$|yj$|itsch$"
    r"|^je[wv]|^ju[rl]|^jak|^jel|^jeg|^jar|^jur|(ov|ev|in|ir|ij|ej|ich)(s|as|is)$"
)
# Latvian and Lithuanian add a case ending to foreign names: Lavrovs, Putinas, Sergejs.
_BALTIC = re.compile(r"(ov|ev|in|ir|ij|ej|yj|ich|ij)(?:s|as|is)$")
_GERMAN_HINT = re.compile(r"w|j|sch|tsch|ow$|ew$")
_DUTCH_HINT = re.compile(r"oe|tsj|sj")
_FRENCH_HINT = re.compile(r"ou|tch|ine$|gu[ei]|off$|eff$|^j(?=[aeiou])")


def _marked(token: str) -> bool:
    if _MARKS.search(token):
        return True
    # w, oe or ou in a token with a Slavic ending: Wladimir, Poetin, Poutine.
    return bool(re.search(r"w|oe|ou|^j", token) and re.search(_SLAVIC_END, token))


def _endings(text: str) -> str:
    text = _BALTIC.sub(r"\1", text)
    text = re.sub(r"off$", "ov", text)
    text = re.sub(r"eff$", "ev", text)
    return re.sub(r"(?<=[aeiou])ss(?=[aeiou])", "s", text)


def _german(token: str) -> str:
    text = token.replace("schtsch", "\x03").replace("tsch", "\x01").replace("tsj", "\x01")
    text = text.replace("sch", "\x02").replace("sj", "\x02").replace("ch", "kh")
    text = text.replace("\x03", "shch").replace("\x01", "ch").replace("\x02", "sh")
    text = text.replace("oe", "u").replace("w", "v").replace("j", "y")
    return _endings(text)


def _french(token: str) -> str:
    text = token.replace("tch", "\x01").replace("ch", "sh").replace("\x01", "ch")
    text = text.replace("ou", "u").replace("j", "zh")
    text = re.sub(r"gu(?=[ei])", "g", text)
    text = re.sub(r"ine$", "in", text)
    return _endings(text)


@lru_cache(maxsize=100_000)
def respellings(token: str) -> tuple[str, ...]:
    """English-style spellings of a lower-case ASCII token written the German, Dutch or
    French way (none for a token without such a mark), most likely first."""
    if len(token) < 4 or not _marked(token):
        return ()
    out: list[str] = []
    if _GERMAN_HINT.search(token) or _DUTCH_HINT.search(token):
        out.append(_german(token))
    if _FRENCH_HINT.search(token):
        out.append(_french(token))
    out.append(_endings(token))
    return tuple(f for f in dict.fromkeys(out) if f != token)


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
_NUMBERS = {w: i for i, w in enumerate(_UNITS)} | _ORDINALS
_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


@lru_cache(maxsize=20_000)
def number_form(token: str) -> str | None:
    """The digits a number word, ordinal or "1st" stands for; None when it is none."""
    if m := _ORDINAL_DIGITS.match(token):
        return m.group(1)
    if token in _NUMBERS:
        return str(_NUMBERS[token])
    for word, tens in _TENS.items():
        if token == word:
            return str(tens)
        if token.startswith(word):
            unit = _NUMBERS.get(token[len(word) :])
            if unit is not None and 0 < unit < 10:
                return str(tens + unit)
    return None
