"""Katakana and hiragana to Latin, aware that most katakana here renders foreign names.

Two readings are made of every token and merged: Hepburn as Japanese writes itself
(ヤマダ タロウ → yamada tarou / taro) and a "foreign" reading that undoes the way Japanese
adapts foreign (mostly Russian) names: epenthetic vowels dropped (ドミトリー → dmitry),
ウ before ラ-row read as v (ウラジーミル → vladimir), ジ/チ as di/ti (プーチン → putin),
final フ as v (ヴォルコフ → volkov), ラ-row as l or r. Bank-style katakana, where small
kana are written full size (ウイリアム for ウィリアム), also gets the small-kana reading.
"""

from __future__ import annotations

from sanctrace.names.scripts import Seg, best_paths, clean

# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_ROWS = {
    "": "アイウエオ", "k": "カキクケコ", "g": "ガギグゲゴ", "s": "サシスセソ", "z": "ザジズゼゾ",
    "t": "タチツテト", "d": "ダヂヅデド", "n": "ナニヌネノ", "h": "ハヒフヘホ", "b": "バビブベボ",
    "p": "パピプペポ", "m": "マミムメモ", "r": "ラリルレロ",
}
# fmt: on
KANA: dict[str, tuple[str, str]] = {
    ch: (cons, vowel) for cons, row in _ROWS.items() for ch, vowel in zip(row, "aiueo", strict=True)
}
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
KANA.update(
    {
        "シ": ("sh", "i"), "チ": ("ch", "i"), "ツ": ("ts", "u"), "フ": ("f", "u"), "ジ": ("j", "i"),
        "ヂ": ("j", "i"), "ヅ": ("z", "u"), "ヤ": ("y", "a"), "ユ": ("y", "u"), "ヨ": ("y", "o"),
        "ワ": ("w", "a"), "ヰ": ("", "i"), "ヱ": ("", "e"), "ヲ": ("", "o"), "ヴ": ("v", "u"),
        "ヷ": ("v", "a"), "ヸ": ("v", "i"), "ヹ": ("v", "e"), "ヺ": ("v", "o"), "ヵ": ("k", "a"),
        "ヶ": ("k", "e"),
    }
)
# fmt: on
_SMALL_V = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_I_ROW = "キギシジチヂニヒビピミリ"
# Full-size kana that bank-style katakana writes in place of a small one, and after which kana.
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_BANK_SMALL = {
    "ヤ": ("ャ", _I_ROW), "ユ": ("ュ", _I_ROW), "ヨ": ("ョ", _I_ROW),
    "ア": ("ァ", "ヴフツクグウ"), "イ": ("ィ", "ウヴフテデツスズクグ"),
    "エ": ("ェ", "ウヴフツシチジイクグ"), "オ": ("ォ", "ウヴフツクグ"),
}
# fmt: on
_GEMINABLE = set("カキクケコガギグゲゴサシスセソタチツテトパピプペポ")
# (consonant, vowel) pairs whose vowel Japanese inserts after a foreign consonant.
_EPENTHETIC = {(c, "u") for c in ("k", "g", "s", "z", "ts", "f", "b", "p", "m", "r", "v")}
_EPENTHETIC |= {("t", "o"), ("d", "o"), ("ch", "i")}
_STRONG_FOREIGN = set("ーヴァィゥェォヷヸヹヺ")
_U_ROW_Y = set("ヌルブムプドトグ")  # + small ィ: ы
_FOREIGN_ENDINGS = (
    "イル",
    "ドル",
    "トル",
    "ブル",
    "グル",
    "クル",
    "プル",
    "フル",
    "ゲイ",
    "クセイ",
    "ライ",
    "ヌイ",
)


class Mora:
    """One sound unit: a kana with its small kana, ン, ッ or ー."""

    __slots__ = ("kind", "cons", "vowel", "plain", "src")

    def __init__(
        self, kind: str, cons: str = "", vowel: str = "", plain: bool = True, src: str = ""
    ):
        self.kind = kind  # "cv", "n", "q" (sokuon) or "long"
        self.cons = cons
        self.vowel = vowel
        self.plain = plain  # no small kana merged into it
        self.src = src


def to_katakana(text: str) -> str:
    """Hiragana to katakana; iteration marks spelled out."""
    out: list[str] = []
    for ch in text:
        o = ord(ch)
        if 0x3041 <= o <= 0x3096 or o in (0x309D, 0x309E):
            ch = chr(o + 0x60)
        if ch in "ヽヾ" and out:
            prev = out[-1]
            ch = (
                chr(ord(prev) + 1)
                if ch == "ヾ" and prev in "カキクケコサシスセソタチツテトハヒフヘホ"
                else prev
            )
        out.append(ch)
    return "".join(out)


def _combine(kana: str, cons: str, vowel: str, small: str) -> tuple[str, str]:
    if small in _SMALL_Y:
        v = _SMALL_Y[small]
        if vowel == "i" and cons in ("sh", "ch", "j"):
            return cons, v
        return ("y" if cons == "" else cons + "y"), v
    if small == "ヮ":
        return cons + "w", "a"
    v = _SMALL_V[small]
    if kana == "ウ":
        return "w", v
    if cons == "":
        return ("y", v) if kana == "イ" and v == "e" else ("", v)
    if cons in ("k", "g") and vowel == "u":
        return cons + "w", v
    if vowel == "i" and cons not in ("sh", "ch", "j") and v == "e":
        return cons + "y", v
    return cons, v


def parse(kata: str) -> list[Mora]:
    """Katakana to morae; characters that are not kana are dropped."""
    moras: list[Mora] = []
    i, n = 0, len(kata)
    while i < n:
        ch = kata[i]
        if ch in KANA:
            cons, vowel = KANA[ch]
            nxt = kata[i + 1] if i + 1 < n else ""
            if nxt in _SMALL_V or nxt in _SMALL_Y or nxt == "ヮ":
                cons, vowel = _combine(ch, cons, vowel, nxt)
                moras.append(Mora("cv", cons, vowel, False, ch + nxt))
                i += 2
                continue
            moras.append(Mora("cv", cons, vowel, True, ch))
        elif ch in _SMALL_V or ch in _SMALL_Y:
            cons = "y" if ch in _SMALL_Y else ""
            moras.append(Mora("cv", cons, _SMALL_V.get(ch) or _SMALL_Y[ch], True, ch))
        elif ch == "ン":
            moras.append(Mora("n", src=ch))
        elif ch == "ッ":
            moras.append(Mora("q", src=ch))
        elif ch == "ー":
            moras.append(Mora("long", src=ch))
        i += 1
    return moras


def looks_foreign(kata: str) -> bool:
    """A guess that the katakana renders a foreign name rather than a Japanese one."""
    if not kata or any(ch in _STRONG_FOREIGN for ch in kata):
        return True
    # Endings Japanese given names and surnames almost never have (-ov, -ail, -andr, -ei).
    return kata[-1] in "フスクドプブグズ" or kata.endswith(_FOREIGN_ENDINGS)


def _consonant_start(m: Mora | None) -> bool:
    return m is not None and m.kind == "cv" and m.cons != ""


def _cons_alts(m: Mora, foreign: bool, long: bool = False, tin: bool = False) -> Seg:
    """Spellings of a mora's consonant, as (text, cost) with the foreign or Japanese cost."""
    j = not foreign  # a Japanese reading makes the foreign spellings expensive
    c = m.cons
    if c == "sh" and m.vowel == "i" and m.plain:
        return [("sh", 0), ("s", 0.8 if j else 0.3)]
    if c == "ch" and m.vowel == "i" and m.plain:
        # Older spellings write a final -tin as チン (プーチン, コンスタンチン).
        if foreign and tin:
            return [("t", 0), ("ch", 0.1)]
        return [("ch", 0), ("t", 0.9 if j else 0.3)]
    if c == "j":
        # ジ renders ж, дж, зи and, in older spellings, ди/дe; a long ジー is mostly ди
        # (ウラジーミル, メドヴェージェフ).
        if foreign and long and m.plain:
            return [("d", 0), ("j", 0.05), ("zh", 0.35), ("z", 0.4)]
        alts = [("j", 0), ("d", 0.9 if j else 0.3 if m.plain else 0.35), ("zh", 0.9 if j else 0.35)]
        return alts + [("z", 0.4)] if foreign and m.plain else alts  # зи (フィジカ)
    if c == "h" and m.src != "フ":
        return [("h", 0), ("kh", 1.0 if j else 0.35)]
    if c == "w" and m.src in ("ワ", "ウィ", "ウェ", "ウォ"):
        return [("w", 0), ("v", 0.9 if j else 0.2)]
    if c == "r":
        return [("r", 0), ("l", 0.9 if j else 0.3)]
    return [(c, 0)]


def _vowel_alts(m: Mora, prev: Mora | None, nxt: Mora | None, last: bool, foreign: bool) -> Seg:
    """Spellings of a mora's vowel in its context (length, -ы, English -er)."""
    long = nxt is not None and nxt.kind == "long"
    if m.vowel == "i" and long and last:
        return (
            [("y", 0), ("i", 0.1), ("iy", 0.5)] if foreign else [("i", 0), ("ii", 0.1), ("y", 0.8)]
        )
    if foreign and long and m.vowel in "ao":
        # English loanwords spell -er, ar, or with a long mark (センター, カート, フォーム).
        if m.vowel == "a":
            return [("a", 0), ("er", 0.3)] if last else [("a", 0), ("ar", 0.35)]
        return [("o", 0), ("or", 0.4)]
    if foreign and not m.plain and m.src[1:] == "ィ" and m.src[0] in _U_ROW_Y:
        return [("y", 0), ("i", 0.1)]  # ы written ヌィ, ルィ (クラースヌィ)
    if m.cons == "" and m.plain and prev is not None and prev.kind == "cv":
        if foreign and m.vowel == "i" and last and prev.plain and prev.vowel == "u":
            return [("y", 0), ("i", 0.1)]  # -ый/-ий written ヌイ, ルイ (ナワリヌイ)
        if m.vowel == "i" and last and prev.vowel in "aeo":
            return [("i", 0), ("y", 0.1 if foreign else 0.6)]
        if m.vowel == prev.vowel or (m.vowel == "u" and prev.vowel == "o"):
            # Doubled vowels mark length. Foreign names rarely spell it out; Hepburn drops
            # a long a, u or o as it drops ー (トウヨウ, オオノ, ユウコ: Toyo, Ono, Yuko), and
            # writes a long i as ii (ニイガタ: Niigata).
            if foreign:
                return [("", 0), (m.vowel, 0.4)]
            return [(m.vowel, 0), ("", 0.1)] if m.vowel in "ie" else [("", 0), (m.vowel, 0.1)]
    return [(m.vowel, 0)]


def _mora_alts(moras: list[Mora], i: int, foreign: bool) -> Seg:
    """Spellings of the i-th CV mora, cheapest first."""
    m, n = moras[i], len(moras)
    prev = moras[i - 1] if i else None
    nxt = moras[i + 1] if i + 1 < n else None
    last = nxt is None or (nxt.kind == "long" and i + 2 == n)
    # ウ before a ラ-row kana at the start: Japanese for a foreign "vl" (ウラジーミル).
    if i == 0 and m.src == "ウ" and nxt is not None and nxt.cons == "r" and nxt.plain:
        return [("v", 0), ("u", 0.4)] if foreign else [("u", 0), ("v", 0.9)]
    if foreign and nxt is None and m.src == "リ":
        return [("ri", 0), ("li", 0.25), ("l", 0.3), ("r", 0.35)]  # -ль (ディーゼリ)
    if foreign and nxt is None and m.src == "ジ":
        return [("ji", 0), ("di", 0.3), ("zhi", 0.35), ("z", 0.35), ("zh", 0.4)]  # -зь, -жь
    long = nxt is not None and nxt.kind == "long"
    tin = nxt is not None and nxt.kind == "n" and i + 2 == n
    cons = _cons_alts(m, foreign, long, tin)
    if i == 1 and prev is not None and prev.src == "ウ" and m.cons == "r" and foreign:
        cons = [("l", 0), ("r", 0.2)]
    vowels = _vowel_alts(m, prev, nxt, last, foreign)
    before_consonant = last or _consonant_start(nxt)
    final_i = nxt is not None and nxt.src == "イ" and i + 2 == n
    epenthetic = m.plain and (m.cons, m.vowel) in _EPENTHETIC and before_consonant
    epenthetic |= m.plain and m.vowel == "u" and m.cons != "" and final_i and foreign
    epenthetic |= m.src == "シ" and nxt is not None and nxt.cons == "ch"  # シチ for щ
    if epenthetic:
        # Russian has many -dor/-tor (Fedorov, Viktor): an o after ト/ド is kept more often.
        drop, keep = (0.0, 0.35 if m.vowel == "o" else 0.5) if foreign else (0.7, 0.0)
        if m.cons == "f":
            # Final フ is mostly a devoiced в (-ov); before a consonant either (エフゲニー).
            cons = [("f", 0), ("v", 0.05)] if i == 0 else [("v", 0), ("f", 0.25 if last else 0.05)]
            if foreign and 0 < i and not last:
                # х before a consonant is written フ too: アフメドフ Akhmedov, ムフタル Mukhtar.
                cons += [("kh", 0.2), ("h", 0.3)]
            cons = cons if foreign else [("f", 0), ("v", 0.3)]
        elif m.cons == "r" and last and prev is not None:
            # -il, -el (ミハイル, パーヴェル); -dr, -tr (アレクサンドル); -ar, -or either way.
            if prev.cons == "" or not prev.plain:
                cons = [("l", 0), ("r", 0.1)] if prev.vowel in "ie" else [("r", 0), ("l", 0.2)]
            else:
                cons = [("r", 0), ("l", 0.4)]
        elif m.cons == "r" and foreign:
            cons = [("r", 0), ("l", 0.1)]
        elif m.cons == "ts" and foreign:
            # Older spellings write ту as ツ (ツポレフ); a final ツ may be German tz.
            cons = [("ts", 0), ("tz", 0.4)] if last else [("ts", 0), ("tu", 0.3)]
        # The kept vowel goes with the Japanese consonant: fu, ru, to, not vu or lu.
        alts = [(c, cc + drop) for c, cc in cons] + [(m.cons + m.vowel, keep)]
        return sorted(alts, key=lambda a: a[1])
    if foreign and m.src in ("シ", "シュ") and before_consonant:
        vowels = [(m.vowel, 0), ("", 0.2 if m.src == "シュ" else 0.3)]  # ш before a consonant
    elif foreign and m.src == "ツ":
        cons = [("ts", 0), ("t", 0.3)]
    return sorted(((c + v, cc + cv) for c, cc in cons for v, cv in vowels), key=lambda a: a[1])


def _segments(moras: list[Mora], foreign: bool) -> list[Seg]:
    """The lattice of spellings for a whole token, in the foreign or the Japanese reading."""
    segs: list[Seg] = []
    for i, m in enumerate(moras):
        nxt = moras[i + 1] if i + 1 < len(moras) else None
        if m.kind == "long":
            segs.append([("", 0)])
        elif m.kind == "n":
            labial = nxt is not None and nxt.kind == "cv" and nxt.cons[:1] in ("b", "m", "p")
            segs.append([("n", 0), ("m", 0.2)] if labial else [("n", 0)])
        elif m.kind == "q":
            dbl = nxt.cons[:1] if nxt is not None and nxt.kind == "cv" and nxt.cons else ""
            dbl = "t" if nxt is not None and nxt.cons == "ch" else dbl
            segs.append([("", 0), (dbl, 0.2)] if foreign else [(dbl, 0), ("", 0.5)])
        else:
            segs.append(_mora_alts(moras, i, foreign))
    return segs


def _bank_small(kata: str) -> str:
    """Bank-style full-size kana rewritten as the small kana they stand for."""
    out = list(kata)
    for i in range(1, len(out)):
        rule = _BANK_SMALL.get(out[i])
        if rule and out[i - 1] in rule[1]:
            out[i] = rule[0]
        elif out[i - 1] == "ツ" and out[i] in _GEMINABLE and i >= 2:
            out[i - 1] = "ッ"
    return "".join(out)


def _readings(kata: str, k: int, foreign: bool, japanese_only: bool = False) -> list[str]:
    moras = parse(kata)
    if not moras:
        return []
    main = best_paths(_segments(moras, foreign), k)
    other = best_paths(_segments(moras, not foreign), k)
    if japanese_only:
        return list(dict.fromkeys(main + other))
    # A foreign-looking token gives places 3 and 8 to the Japanese reading, a
    # Japanese-looking one every other place to the foreign reading.
    pattern = "mmommmmo" if foreign else "mo"
    queues = {"m": iter(main), "o": iter(other)}
    merged = [next(queues[key], "") for _ in range(k) for key in pattern]
    return [f for f in dict.fromkeys(merged + main + other) if f]


def kana_forms(token: str, k: int = 8) -> list[str]:
    """Latin forms of a katakana/hiragana token (NFKC applied by the caller), best first."""
    kata = to_katakana(token)
    # Hiragana spells Japanese names, unless it has a long mark or small vowels.
    hiragana = any("\u3041" <= ch <= "\u309f" for ch in token) and not any(
        ch in "ーぁぃぅぇぉゔ" for ch in token
    )
    foreign = looks_foreign(kata) and not hiragana
    forms = _readings(kata, k, foreign, hiragana)
    small = _bank_small(kata)
    if small != kata:
        alt = _readings(small, k, looks_foreign(small))
        if foreign:
            merged = [f for pair in zip(forms, alt, strict=False) for f in pair]
        else:
            merged = forms[:3] + alt[:2]
        forms = list(dict.fromkeys(merged + forms + alt))
    return [f for f in (clean(x) for x in forms) if f][:k]


# --- Korean names written in katakana (キム・ジョンウン for 김정은 / 金正恩) ---------------------

# Korean surnames as Japanese writes them, with their usual romanisations.
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_KOREAN_SURNAMES = {
    "キム": "kim gim", "パク": "park pak bak", "イ": "lee yi i rhee", "リ": "ri lee li",
    "チェ": "choi choe chae", "チョン": "jeong jung chung chong jong chun jun",
    "チョ": "cho jo", "カン": "kang gang", "ユン": "yoon yun", "チャン": "jang chang",
    "イム": "lim im", "リム": "rim lim", "ハン": "han", "シン": "shin sin",
    "クォン": "kwon gwon", "ファン": "hwang", "アン": "ahn an", "ソン": "song sung son seong",
    "リュ": "ryu yoo", "ホン": "hong", "ムン": "moon mun", "ヤン": "yang", "ペ": "bae pae",
    "ペク": "baek paek paik", "ナム": "nam", "シム": "shim sim", "ノ": "noh roh no",
    "クァク": "kwak gwak", "チャ": "cha", "チュ": "joo ju chu", "ミン": "min",
    "チン": "jin chin", "ウォン": "won", "パン": "bang pang", "コン": "kong gong",
    "ヒョン": "hyun hyeon", "ハム": "ham", "ピョン": "byun pyon", "ソク": "seok sok",
    "キル": "gil kil", "オム": "eom um", "ヨ": "yeo yo", "ユ": "yoo yu", "ソ": "seo suh so",
}
# fmt: on
# Codas a Korean syllable may end in, as katakana writes them (ㄴ/ㅇ, ㅁ, ㄹ, ㄱ, ㅂ).
_KOREAN_CODAS = {"ン": ("n", "ng"), "ム": ("m",), "ル": ("l",), "ク": ("k",), "プ": ("p",)}
# Consonants Korean romanisations voice or devoice at will (정 jeong / chong, 길 gil / kil).
_KOREAN_CONS = {"j": ("j", "ch"), "ch": ("ch", "j"), "k": ("k", "g"), "g": ("g", "k"),
                "t": ("t", "d"), "d": ("d", "t"), "p": ("p", "b"), "b": ("b", "p"),
                "sh": ("s", "sh"), "r": ("r", "l")}  # fmt: skip
# Vowels katakana merges: ㅓ and ㅗ are both オ, ㅡ and ㅜ both ウ, ㅐ and ㅔ both エ.
_KOREAN_VOWELS = {"o": ("o", "eo"), "u": ("u", "eu"), "e": ("e", "ae"), "a": ("a",), "i": ("i",)}


def korean_surname_forms(token: str) -> list[str]:
    """Romanisations of a Korean surname written in katakana (キム → kim, gim); [] otherwise."""
    forms = _KOREAN_SURNAMES.get(to_katakana(token))
    return forms.split() if forms else []


def korean_syllables(token: str) -> list[str] | None:
    """A katakana given name cut into Korean syllables (ジョンウン → ジョン, ウン), or None.

    A syllable is one kana (with its small kana) and an optional ン; ム, ル, ク and プ close
    a syllable only at the end of the token. None when the token holds anything else
    (ー, ッ, a lone small kana), since such spellings are not Korean renderings.
    """
    kata = to_katakana(token)
    out: list[str] = []
    i, n = 0, len(kata)
    while i < n:
        ch = kata[i]
        if ch not in KANA:
            return None
        j = i + 1
        if j < n and (kata[j] in _SMALL_V or kata[j] in _SMALL_Y):
            j += 1
        if j < n and kata[j] == "ン":
            j += 1
        elif j == n - 1 and kata[j] in _KOREAN_CODAS:
            j += 1
        out.append(kata[i:j])
        i = j
    return out


def korean_syllable_forms(syllable: str, k: int = 8) -> list[str]:
    """Romanisations of one Korean syllable in katakana (ジョン → jong, jeong, chong …)."""
    moras = parse(syllable)
    if not moras or moras[0].kind != "cv":
        return []
    first = moras[0]
    coda = _KOREAN_CODAS.get(syllable[-1], ()) if len(moras) > 1 else ()
    cons = _KOREAN_CONS.get(first.cons, (first.cons,))
    vowels = _KOREAN_VOWELS.get(first.vowel, (first.vowel,))
    segs: list[Seg] = [
        [(c, 0.3 * r) for r, c in enumerate(cons)],
        [(v, 0.2 * r) for r, v in enumerate(vowels)],
    ]
    if coda:
        segs.append([(c, 0.1 * r) for r, c in enumerate(coda)])
    return best_paths(segs, k)
