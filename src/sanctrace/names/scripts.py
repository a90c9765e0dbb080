"""Latin forms for Greek, Arabic, Hebrew, Hangul, Han and Thai tokens, plus shared helpers.

Every function takes one NFKC-normalised, case-folded token of its script and returns
lower-case ASCII forms, most likely first. Alternatives are spelled out as a lattice of
(text, cost) choices per position and the cheapest paths are read off it.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Callable, Sequence

from anyascii import anyascii

Alt = tuple[str, float]
Seg = Sequence[Alt]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def clean(text: str) -> str:
    """Lower-case ASCII letters and digits only."""
    return _NON_ALNUM.sub("", text.lower())


def fallback(text: str) -> str:
    """anyascii's reading, cleaned: the answer for scripts without their own rules."""
    return clean(anyascii(text))


def best_paths(
    segs: Sequence[Seg], k: int = 8, post: Callable[[str], str] | None = None
) -> list[str]:
    """The ``k`` cheapest distinct strings through a lattice of per-position alternatives.

    Each string goes through ``post`` (default: ``clean``) before de-duplication.
    """
    lattice = [sorted(s, key=lambda a: a[1]) for s in segs if s]
    if not lattice:
        return []
    n = len(lattice)
    heap = [(sum(s[0][1] for s in lattice), (0,) * n, 0)]
    out: list[str] = []
    seen: set[str] = set()
    pops = 0
    # Each index vector has one parent (its rightmost non-zero index lowered), so successors
    # only move positions at or right of the last one moved: no vector is pushed twice.
    while heap and len(out) < k and pops < 12 * k:
        cost, idx, pos = heapq.heappop(heap)
        pops += 1
        text = "".join(lattice[i][j][0] for i, j in enumerate(idx))
        text = clean(text) if post is None else post(text)
        if text and text not in seen:
            seen.add(text)
            out.append(text)
        for p in range(pos, n):
            j = idx[p] + 1
            if j < len(lattice[p]):
                step = lattice[p][j][1] - lattice[p][j - 1][1]
                heapq.heappush(heap, (cost + step, idx[:p] + (j,) + idx[p + 1 :], p))
    return out


def strip_marks(text: str) -> str:
    """Drop combining marks (accents, niqqud, harakat) after canonical decomposition."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


# --- Greek (ELOT 743 / UN, with common looser spellings) -----------------------------------

# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_GR_ONE: dict[str, Seg] = {
    "α": [("a", 0)], "β": [("v", 0), ("b", 0.4)], "δ": [("d", 0), ("dh", 0.5)],
    "ε": [("e", 0)], "ζ": [("z", 0)], "η": [("i", 0), ("e", 0.5)], "θ": [("th", 0)],
    "ι": [("i", 0)], "κ": [("k", 0)], "λ": [("l", 0)], "μ": [("m", 0)], "ν": [("n", 0)],
    "ξ": [("x", 0), ("ks", 0.1)], "ο": [("o", 0)], "π": [("p", 0)], "ρ": [("r", 0)],
    "σ": [("s", 0)], "ς": [("s", 0)], "τ": [("t", 0)], "υ": [("y", 0), ("i", 0.3)],
    "φ": [("f", 0), ("ph", 0.4)], "χ": [("ch", 0), ("kh", 0.3), ("h", 0.4)],
    "ψ": [("ps", 0)], "ω": [("o", 0)],
}
# fmt: on
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_GR_TWO: dict[str, Seg] = {
    "ου": [("ou", 0), ("u", 0.3)], "αι": [("ai", 0), ("e", 0.4)], "ει": [("ei", 0), ("i", 0.3)],
    "οι": [("oi", 0), ("i", 0.4)], "υι": [("yi", 0), ("i", 0.4)], "γγ": [("ng", 0), ("gg", 0.5)],
    "γξ": [("nx", 0), ("nks", 0.2)], "γχ": [("nch", 0), ("nkh", 0.3)],
    "τζ": [("tz", 0), ("dz", 0.3)], "τσ": [("ts", 0)],
}
# fmt: on
_GR_VOICELESS = set("θκξπστφχψ")
_GR_FRONT = set("εέιηυ")


def greek_forms(token: str, k: int = 8) -> list[str]:
    """Greek token to ELOT-style Latin and looser variants (Alexandros, Aleksandros …)."""
    chars: list[str] = []
    split: list[bool] = []  # a diaeresis keeps a vowel out of a digraph
    for ch in unicodedata.normalize("NFD", token.replace("ς", "σ")):
        if ch == "\u0308" and split:
            split[-1] = True
        elif not unicodedata.combining(ch):
            chars.append(ch)
            split.append(False)
    segs: list[Seg] = []
    i, n = 0, len(chars)
    while i < n:
        c, nxt = chars[i], chars[i + 1] if i + 1 < n else ""
        after = chars[i + 2] if i + 2 < n else ""
        pair = c + nxt
        initial = i == 0
        if pair in ("αυ", "ευ", "ηυ") and not split[i + 1]:
            v = {"α": "a", "ε": "e", "η": "i"}[c]
            voiced = after and after not in _GR_VOICELESS
            f, w = (v + "v", v + "f") if voiced else (v + "f", v + "v")
            segs.append([(f, 0), (w, 0.3), (v + "u", 0.5)])
            i += 2
        elif pair == "μπ":
            segs.append(
                [("b", 0), ("mp", 0.4)] if initial else [("mb", 0), ("mp", 0.3), ("b", 0.4)]
            )
            i += 2
        elif pair == "ντ":
            segs.append(
                [("d", 0), ("nt", 0.4)] if initial else [("nt", 0), ("d", 0.2), ("nd", 0.3)]
            )
            i += 2
        elif pair == "γκ":
            segs.append(
                [("g", 0), ("gk", 0.5)] if initial else [("ng", 0), ("g", 0.4), ("gk", 0.5)]
            )
            i += 2
        elif pair in _GR_TWO and not (i + 1 < n and split[i + 1]):
            segs.append(_GR_TWO[pair])
            i += 2
        elif c == "γ":
            front = nxt in _GR_FRONT or pair in ("αι", "ει", "οι")
            segs.append([("g", 0), ("y", 0.4), ("gh", 0.5)] if front else [("g", 0), ("gh", 0.5)])
            i += 1
        else:
            segs.append(_GR_ONE.get(c) or [(fallback(c), 0)])
            i += 1
    return best_paths(segs, k)


# --- Arabic, Persian, Urdu ------------------------------------------------------------------

# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_AR_NAMES = {
    "محمد": "muhammad mohammed mohamed mohammad mohamad muhammed",
    "احمد": "ahmad ahmed", "محمود": "mahmoud mahmud", "علي": "ali", "حسن": "hasan hassan",
    "حسين": "hussein husayn hussain hossein husain", "عبد": "abd abdul abdel",
    "الله": "allah ullah", "عبدالله": "abdullah abdallah abdulla", "خالد": "khalid khaled",
    "عمر": "umar omar", "عثمان": "uthman othman osman usman", "يوسف": "yusuf yousef youssef",
    "ابراهيم": "ibrahim ebrahim", "اسماعيل": "ismail ismael", "مصطفي": "mustafa mostafa",
    "سعيد": "said saeed saeid", "صالح": "salih saleh", "ناصر": "nasser nasir naser",
    "عادل": "adel adil", "جمال": "jamal gamal", "كريم": "karim kareem", "رحمن": "rahman",
    "فاطمه": "fatima fatimah fatemeh", "عايشه": "aisha ayesha", "مريم": "maryam mariam",
    "زينب": "zaynab zainab zeinab", "نور": "nur noor nour", "اسامه": "usama osama",
    "بن": "bin ben", "ابن": "ibn ben", "ابو": "abu abou", "بنت": "bint", "حمد": "hamad",
    "سلمان": "salman", "فيصل": "faisal faysal", "سلطان": "sultan", "منصور": "mansour mansur",
    "طارق": "tariq tarek", "ماجد": "majid majed", "حميد": "hamid", "رشيد": "rashid",
    "زيد": "zaid zayd", "سالم": "salem salim", "سليمان": "sulaiman suleiman sulayman",
    "عيسي": "isa issa", "موسي": "musa moussa", "يحيي": "yahya", "جعفر": "jafar jaafar",
    "قاسم": "qasim qassem kassem qasem", "مهدي": "mahdi mehdi", "رضا": "reza rida ridha",
    "جواد": "javad jawad", "حزب": "hizb", "نصر": "nasr", "عباس": "abbas", "هاشم": "hashim hashem",
    "محسن": "mohsen muhsin", "حامد": "hamed hamid", "امين": "amin amine", "اسد": "asad assad",
    "لادن": "laden ladin", "ظواهري": "zawahiri", "بشار": "bashar", "حافظ": "hafez hafiz",
    "لطيف": "latif lateef", "عزيز": "aziz", "رحيم": "rahim raheem", "قادر": "qadir kader",
    "مجيد": "majid majeed", "حكيم": "hakim hakeem", "غني": "ghani", "ستار": "sattar",
    "جبار": "jabbar", "رزاق": "razzaq razak", "واحد": "wahid", "حليم": "halim", "سلام": "salam",
}
# fmt: on
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_AR_KEY = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "ۀ": "ه",
     "ئ": "ي", "ـ": ""}
)
# fmt: on
_HARAKAT = re.compile("[\u064b-\u065f\u0670]")  # short vowels, shadda, sukun: rarely written
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_AR_FIXED: dict[str, Seg] = {
    "ت": [("t", 0)], "ث": [("th", 0), ("s", 0.3)], "ج": [("j", 0), ("g", 0.3)],
    "ح": [("h", 0)], "خ": [("kh", 0), ("h", 0.4)], "د": [("d", 0)],
    "ذ": [("dh", 0), ("z", 0.2), ("d", 0.4)], "ر": [("r", 0)], "ز": [("z", 0)], "س": [("s", 0)],
    "ش": [("sh", 0)], "ص": [("s", 0)], "ض": [("d", 0), ("dh", 0.3)], "ط": [("t", 0)],
    "ظ": [("z", 0), ("dh", 0.3)], "غ": [("gh", 0), ("g", 0.4)], "ق": [("q", 0), ("k", 0.2)],
    "ك": [("k", 0)], "ک": [("k", 0)], "ل": [("l", 0)], "م": [("m", 0)], "ن": [("n", 0)],
    "پ": [("p", 0)], "چ": [("ch", 0)], "ژ": [("zh", 0), ("j", 0.3)], "گ": [("g", 0)],
    "ٹ": [("t", 0)], "ڈ": [("d", 0)], "ڑ": [("r", 0)], "ں": [("n", 0)], "ھ": [("h", 0)],
    "ب": [("b", 0)], "ف": [("f", 0)],
    "ء": [("", 0)], "ؤ": [("", 0)], "ئ": [("", 0), ("y", 0.4)], "ة": [("a", 0), ("ah", 0.1), ("at", 0.4)],
    "ى": [("a", 0), ("i", 0.3)], "ے": [("e", 0), ("ai", 0.4)],
}
# fmt: on
_AR_CONS = set(_AR_FIXED) | set("بفوهعي")


def _arabic_seg(chars: str, i: int) -> Seg:
    c = chars[i]
    prev, nxt = chars[i - 1] if i else "", chars[i + 1] if i + 1 < len(chars) else ""
    initial, final = i == 0, i == len(chars) - 1
    between = prev in _AR_CONS and (nxt in _AR_CONS or not nxt)
    if c in "اأٱآ":
        return [("a", 0), ("e", 0.5)] if initial else [("a", 0)]
    if c == "إ":
        return [("i", 0), ("e", 0.4)]
    if c == "و":
        if initial:
            return [("w", 0)]
        return [("u", 0), ("o", 0.2), ("w", 0.5), ("v", 0.6)] if between else [("w", 0), ("u", 0.3)]
    if c in "يی":
        if initial:
            return [("y", 0)]
        if final:
            return [("i", 0), ("y", 0.2)]
        return [("i", 0), ("e", 0.3), ("y", 0.5)] if between else [("y", 0), ("i", 0.3)]
    if c in "هہ":
        return [("h", 0), ("a", 0.2), ("", 0.4)] if final and not initial else [("h", 0)]
    if c == "ع":
        return [("a", 0), ("", 0.3)] if initial else [("", 0), ("a", 0.3)]
    return _AR_FIXED.get(c) or [(fallback(c), 0)]


def arabic_forms(token: str, k: int = 8) -> list[str]:
    """Arabic-script token: known given names from a table, else a letter-by-letter reading.

    Unvowelled Arabic gives consonant skeletons ("mhmd"); foreign names written in Arabic
    script also get the p/v reading of ب/ف (فلاديمير → vladimir).
    """
    chars = "".join(ch for ch in _HARAKAT.sub("", token) if "\u0600" <= ch <= "\u06ff")
    key = chars.translate(_AR_KEY)
    if key in _AR_NAMES:
        return _AR_NAMES[key].split()[:k]
    pre: list[str] = []
    if key.startswith("ال") and len(key) > 3:
        rest = key[2:]
        pre = ["al", "", "el"]
        if rest in _AR_NAMES:
            return [p + w for w in _AR_NAMES[rest].split()[:3] for p in pre][:k]
        chars = chars[2:]
    elif key.startswith("عبد") and len(key) > 4:
        rest = key[5:] if key.startswith("عبدال") else key[3:]
        if rest in _AR_NAMES:  # عبدالرحمن, عبد + a name of God
            return [p + _AR_NAMES[rest].split()[0] for p in ("abdul", "abdal", "abdel", "abd")]
    segs: list[Seg] = [[(p, i * 0.3) for i, p in enumerate(pre)]] if pre else []
    segs += [_arabic_seg(chars, i) for i in range(len(chars))]
    native = best_paths(segs, k)
    if not any(c in "بف" for c in chars) and not chars.startswith("و"):
        return native
    # A foreign name in Arabic script writes p as ب and v as ف (فلاديمير, بوتين): its
    # p/v spelling follows each of the two best native readings.
    out: list[str] = []
    for i, form in enumerate(native):
        out.append(form)
        if i < 2:
            out.append(re.sub("^w", "v", form.replace("b", "p").replace("f", "v")))
    return list(dict.fromkeys(out))[:k]


# --- Hebrew ---------------------------------------------------------------------------------

# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_HE_NAMES = {
    "משה": "moshe moses", "דוד": "david dovid", "יוסף": "yosef joseph yossef", "אברהם": "avraham abraham",
    "יצחק": "yitzhak itzhak isaac", "יעקב": "yaakov yakov jacob", "שמואל": "shmuel samuel",
    "שלמה": "shlomo solomon", "אליהו": "eliyahu", "חיים": "chaim haim khaim",
    "מרדכי": "mordechai mordekhai", "בנימין": "binyamin benjamin", "נתניהו": "netanyahu",
    "לוי": "levi levy", "כהן": "cohen kohen", "שרה": "sara sarah", "רחל": "rachel rahel",
    "מרים": "miriam", "אהרון": "aharon aaron", "אהרן": "aharon aaron", "מיכאל": "michael mikhael",
    "דניאל": "daniel", "יהודה": "yehuda judah", "אריה": "arie aryeh", "אבי": "avi", "בן": "ben",
    "יונתן": "yonatan jonathan", "גבריאל": "gavriel gabriel", "רפאל": "refael raphael",
}
# fmt: on
_HE_FINAL = str.maketrans("ךםןףץ", "כמנפצ")
_HE_LOOKUP = {w.translate(_HE_FINAL): v for w, v in _HE_NAMES.items()}
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_HE_FIXED: dict[str, Seg] = {
    "ג": [("g", 0)], "ד": [("d", 0)], "ז": [("z", 0)], "ח": [("ch", 0), ("kh", 0.1), ("h", 0.2)],
    "ט": [("t", 0)], "ל": [("l", 0)], "מ": [("m", 0)], "נ": [("n", 0)], "ס": [("s", 0)],
    "צ": [("ts", 0), ("tz", 0.1), ("z", 0.4)], "ק": [("k", 0)], "ר": [("r", 0)],
    "ש": [("sh", 0), ("s", 0.3)], "ת": [("t", 0), ("s", 0.5)],
}
# fmt: on
_HE_GERESH = {"ג": "j", "ז": "zh", "צ": "ch", "ת": "th"}


def _hebrew_seg(chars: str, i: int) -> Seg:
    c = chars[i]
    prev, nxt = chars[i - 1] if i else "", chars[i + 1] if i + 1 < len(chars) else ""
    initial, final = i == 0, i == len(chars) - 1
    if nxt in "׳'" and c in _HE_GERESH:
        return [(_HE_GERESH[c], 0)]
    if c in "אע":
        return [("a", 0), ("e", 0.3), ("", 0.4)] if initial else [("", 0), ("a", 0.3)]
    if c == "ב":
        return [("b", 0), ("v", 0.4)] if initial else [("v", 0), ("b", 0.2)]
    if c in "כך":
        return [("k", 0), ("kh", 0.4)] if initial else [("kh", 0), ("ch", 0.1), ("k", 0.2)]
    if c in "פף":
        return [("p", 0), ("f", 0.4)] if initial and c == "פ" else [("f", 0), ("p", 0.2)]
    if c == "ה":
        return (
            [("e", 0), ("a", 0.1), ("", 0.2), ("h", 0.3)] if final and not initial else [("h", 0)]
        )
    if c == "ו":
        if initial or prev == "ו" or nxt == "ו":
            return [("v", 0), ("w", 0.3)] if initial else [("v", 0)]
        return [("o", 0), ("u", 0.1), ("v", 0.4)]
    if c == "י":
        if initial or prev == "י":
            return [("y", 0), ("i", 0.4)]
        return [("i", 0), ("y", 0.3)] if final else [("i", 0), ("e", 0.3), ("y", 0.4)]
    return _HE_FIXED.get(c.translate(_HE_FINAL)) or [(fallback(c), 0)]


def hebrew_forms(token: str, k: int = 8) -> list[str]:
    """Hebrew token: known given names from a table, else a consonant-led reading."""
    chars = "".join(ch for ch in strip_marks(token) if "\u05d0" <= ch <= "\u05ea" or ch in "׳'")
    known = _HE_LOOKUP.get(chars.translate(_HE_FINAL))
    if known:
        return known.split()[:k]
    return best_paths([_hebrew_seg(chars, i) for i in range(len(chars)) if chars[i] not in "׳'"], k)


# --- Han and Thai ---------------------------------------------------------------------------


def han_syllables(token: str) -> list[str]:
    """Pinyin syllables (toneless) of a Han token, one per character, via anyascii.

    A Hangul token gives its syllables in the first reading of ``hangul_forms``.
    """
    if any(_jamo(ch) is not None for ch in token):
        readings = hangul_syllable_forms(token)
        return readings[0] if readings else []
    out = []
    for ch in token:
        s = clean(anyascii(ch)) if ch.isalnum() else ""
        if s:
            out.append(s)
    return out


_THAI_CLUSTERS = ("kr", "kl", "kw", "khr", "khl", "khw", "pr", "pl", "phr", "phl", "tr")


def thai_forms(token: str) -> list[str]:
    """Thai token: anyascii's letters plus a guess at the unwritten vowel and final -ai."""
    raw = fallback(token)
    guess = raw
    head = re.match(r"[^aeiou]*", guess).group(0)  # type: ignore[union-attr]
    first = head[:2] if head[:2] in ("kh", "ph", "th", "ch") else head[:1]
    # Two consonants that are no Thai cluster have the unwritten vowel o between them.
    if len(head) > len(first) and not head.startswith(_THAI_CLUSTERS):
        guess = first + "o" + guess[len(first) :]
    guess = re.sub(r"ay$", "ai", guess)
    return list(dict.fromkeys(x for x in (guess, raw) if x))


# --- Hangul (Revised Romanization, McCune-Reischauer, loanword readings) ---------------------

_L = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()
_V = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_T = "- k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()
_V_MR = {4: "o", 6: "yo", 18: "u"}  # ŏ, yŏ, ŭ without breves
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_V_ALT: dict[int, Seg] = {
    4: [("eo", 0), ("o", 0.3), ("u", 0.4)], 6: [("yeo", 0), ("yo", 0.3), ("yu", 0.45)],
    18: [("eu", 0), ("u", 0.25)], 13: [("u", 0), ("oo", 0.45)], 11: [("oe", 0), ("oi", 0.4)],
    19: [("ui", 0), ("eui", 0.5)],
}
# fmt: on
_SURNAMES = dict(
    pair.split(":")
    for pair in (
        "김:kim,gim 이:lee,yi,i,rhee 리:ri,lee 박:park,bak,pak 최:choi,choe 정:jung,jeong,chung,chong "
        "강:kang,gang 조:cho,jo 윤:yoon,yun 장:jang,chang 임:lim,im 림:rim,lim 한:han 오:oh,o "
        "서:seo,suh 신:shin,sin 권:kwon,gwon 황:hwang 안:ahn,an 송:song 류:ryu,yoo,yu 유:yoo,yu "
        "홍:hong 전:jeon,chun,jun 고:ko,go 문:moon,mun 양:yang 손:son,sohn 배:bae 백:baek,paik "
        "허:heo,huh 남:nam 심:shim,sim 노:noh,roh 로:ro,roh 하:ha 곽:kwak 성:sung,seong 차:cha "
        "주:joo,ju,chu 우:woo,u 구:koo,gu 민:min 진:jin 나:na 지:ji 엄:eom,um 채:chae 원:won "
        "천:cheon,chun 방:bang 공:kong,gong 현:hyun,hyeon 함:ham 변:byun,byeon 염:yeom 여:yeo "
        "추:choo,chu 도:do 석:seok,suk 설:seol 마:ma 길:gil,kil 연:yeon 표:pyo 명:myung,myeong "
        "기:ki,gi 반:ban 왕:wang 금:keum,geum 옥:ok 육:yook,yuk 인:in 탁:tak 국:kook,guk 량:ryang "
        "려:ryo 용:yong 편:pyun,pyeon"
    ).split()
)
_HANGUL0, _HANGUL_N = 0xAC00, 11172


def is_korean_surname(syllable: str) -> bool:
    """Whether a Hangul syllable is a common Korean surname (김, 이, 박 …)."""
    return syllable in _SURNAMES


def _jamo(ch: str) -> tuple[int, int, int] | None:
    s = ord(ch) - _HANGUL0
    if not 0 <= s < _HANGUL_N:
        return None
    return s // 588, (s % 588) // 28, s % 28


def _rr_syllable(syl: tuple[int, int, int], first: bool, prev_t: int) -> Seg:
    lead, vow, tail = syl
    ini: Seg = [(_L[lead].strip("-"), 0)]
    if lead == 0:
        ini = [("g", 0), ("k", 0.1 if first else 0.45)]
    elif lead == 3:
        ini = [("d", 0), ("t", 0.5)]
    elif lead == 5:
        ini = [("l", 0)] if prev_t == 8 else [("r", 0), ("l", 0.3)]
    elif lead == 7:
        ini = [("b", 0), ("p", 0.3 if first else 0.5)]
    elif lead == 9 and vow == 20:
        ini = [("s", 0), ("sh", 0.35)]
    elif lead == 12:
        ini = [("j", 0), ("ch", 0.45)]
    vows = _V_ALT.get(vow, [(_V[vow], 0)])
    fin = _T[tail].strip("-")
    return sorted(((a + v + fin, ca + cv) for a, ca in ini for v, cv in vows), key=lambda x: x[1])


_MR_STOPS = {0: ("k", "g"), 3: ("t", "d"), 7: ("p", "b"), 12: ("ch", "j")}


def _mr_syllable(syl: tuple[int, int, int], prev_t: int, first: bool) -> str:
    lead, vow, tail = syl
    voiced = not first and prev_t in (0, 4, 8, 16, 21)  # after a vowel, n, l, m, ng
    ini = _L[lead].strip("-")
    if lead in _MR_STOPS:
        ini = _MR_STOPS[lead][voiced]
    elif lead == 5:
        ini = "l" if prev_t == 8 else "r"
    return ini + _V_MR.get(vow, _V[vow]) + _T[tail].strip("-")


def _loan_syllable(sylls: list[tuple[int, int, int]], i: int) -> Seg:
    lead, vow, tail = sylls[i]
    nxt = sylls[i + 1] if i + 1 < len(sylls) else None
    prev_t = sylls[i - 1][2] if i else 0
    ini: Seg = [(_L[lead].strip("-"), 0)]
    if lead == 5:
        ini = [("", 0)] if prev_t == 8 else [("r", 0), ("l", 0.2)]
    elif lead == 7:
        ini = [("b", 0), ("v", 0.1)]
    elif lead == 17:
        ini = [("p", 0), ("f", 0.3)]
    elif lead == 12:
        ini = [("j", 0), ("zh", 0.3)]
    elif lead == 18:
        ini = [("h", 0), ("kh", 0.3)]
    vows: Seg = [(_V[vow], 0)]
    epenthetic = (tail == 0 and lead != 11 and (nxt is None or nxt[0] != 11)) or (
        tail == 8 and nxt is not None and nxt[0] == 5
    )
    if vow == 18 and epenthetic:
        vows = [("", 0), ("u", 0.5)]
    elif vow == 4:
        vows = [("o", 0), ("eo", 0.3), ("e", 0.4)]
    elif vow == 20 and lead == 11 and nxt is None and i:
        vows = [("i", 0), ("y", 0.1)]
    fin = "l" if tail == 8 else _T[tail].strip("-")
    return sorted(((a + v + fin, ca + cv) for a, ca in ini for v, cv in vows), key=lambda x: x[1])


def hangul_syllable_forms(token: str, k: int = 8) -> list[list[str]]:
    """Hangul token as romanised syllables, best first: RR (surname table for the first
    syllable), McCune-Reischauer as North Korea writes it, RR variants, and, for
    loanword-looking tokens (블라디미르), a reading without epenthetic ㅡ."""
    chars = [ch for ch in token if _jamo(ch) is not None]
    sylls = [j for j in map(_jamo, chars) if j is not None]
    if not sylls:
        return []
    n = len(sylls)
    loan = any(
        v == 18 and ((t == 0 and ld != 11) or (t == 8 and i + 1 < n and sylls[i + 1][0] == 5))
        for i, (ld, v, t) in enumerate(sylls)
    )
    segs: list[Seg] = []
    for i, syl in enumerate(sylls):
        prev_t = sylls[i - 1][2] if i else 0
        sur = _SURNAMES.get(chars[0]) if i == 0 and n <= 4 and not loan else None
        seg = (
            [(s, r * 0.15) for r, s in enumerate(sur.split(","))]
            if sur
            else _rr_syllable(syl, i == 0, prev_t)
        )
        segs.append([(s + " ", c) for s, c in seg])
    rr = [p.split() for p in best_paths(segs, k, post=str.strip)]
    mr = [_mr_syllable(s, sylls[i - 1][2] if i else 0, i == 0) for i, s in enumerate(sylls)]
    if not loan:
        out = rr[:1] + [mr] + rr[1:]
    else:
        lsegs = [[(s + " ", c) for s, c in _loan_syllable(sylls, i)] for i in range(n)]
        out = [p.split() for p in best_paths(lsegs, 4, post=str.strip)] + rr[:2] + [mr]
    seen: set[str] = set()
    uniq = []
    for sy in out:
        key = "".join(sy)
        if key and key not in seen:
            seen.add(key)
            uniq.append(sy)
    return uniq[:k]


def hangul_forms(token: str, k: int = 8) -> list[str]:
    """Hangul token joined per syllable: 김정은 → gimjeongeun, kimjongun …"""
    return ["".join(s) for s in hangul_syllable_forms(token, k)]
