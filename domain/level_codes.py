"""Massar's level codes, shipped with the package so that any real class list loads offline.

A class code is a level code, `-`, a number (`1ASCG-2`). The level code carries
the track: primary `1APG`..`6APG` (and the older `1AP`..`6AP`), the ordinary
collège `1ASCG`..`3ASCG` and its international option `1APIC`..`3APIC`, lycée
tronc commun and 1BAC/2BAC by stream and option (the last letter: F French
option, A Arabic). The centre publishes levels it opens later (the `levels`
table is national data); these are the starting rows.

`year` is the year within the cycle (1..6 primary, 1..3 collège, 1..3 lycée
with tronc commun = 1), `ord` the year of schooling (1..12).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    code: str
    cycle: str  # primary, college, lycee
    year: int
    scale: int  # 10 primary, 20 above
    name_ar: str
    name_fr: str

    @property
    def ord(self) -> int:
        return {"primary": 0, "college": 6, "lycee": 9}[self.cycle] + self.year


_ORDINAL_AR = ("الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس")
_ORDINAL_AR_F = ("الأولى", "الثانية", "الثالثة")
_ORDINAL_FR = ("1re", "2e", "3e", "4e", "5e", "6e")


def _primary() -> list[Level]:
    out = []
    for n in range(1, 7):
        ar = f"المستوى {_ORDINAL_AR[n - 1]} ابتدائي"
        fr = f"{_ORDINAL_FR[n - 1]} année primaire"
        out.append(Level(f"{n}APG", "primary", n, 10, f"{ar} عام", f"{fr} (enseignement général)"))
        out.append(Level(f"{n}AP", "primary", n, 10, ar, fr))
    return out


def _college() -> list[Level]:
    out = []
    for n in range(1, 4):
        ar = f"{_ORDINAL_AR_F[n - 1]} إعدادي"
        fr = f"{_ORDINAL_FR[n - 1]} année collège"
        out.append(Level(f"{n}ASCG", "college", n, 20, f"{ar} عام", f"{fr} (général)"))
        out.append(Level(f"{n}APIC", "college", n, 20, f"{ar} مسار دولي", f"{fr} (parcours international)"))
    return out


_OPTIONS = {"F": ("خيار فرنسية", "option française"), "A": ("خيار عربية", "option arabe")}

# stream code -> (Arabic, French), per lycée year
_TC = {
    "S": ("الجذع المشترك العلمي", "Tronc commun scientifique"),
    "LSH": ("الجذع المشترك للآداب والعلوم الإنسانية", "Tronc commun lettres et sciences humaines"),
    "T": ("الجذع المشترك التكنولوجي", "Tronc commun technologique"),
    "EO": ("الجذع المشترك للتعليم الأصيل", "Tronc commun enseignement originel"),
}
_BAC1 = {
    "SE": ("الأولى باكالوريا علوم تجريبية", "1re bac sciences expérimentales"),
    "SM": ("الأولى باكالوريا علوم رياضية", "1re bac sciences mathématiques"),
    "L": ("الأولى باكالوريا آداب", "1re bac lettres"),
    "SH": ("الأولى باكالوريا علوم إنسانية", "1re bac sciences humaines"),
    "SEG": ("الأولى باكالوريا علوم اقتصادية وتدبير", "1re bac sciences économiques et gestion"),
    "STE": ("الأولى باكالوريا علوم وتكنولوجيات كهربائية", "1re bac sciences et technologies électriques"),
    "STM": ("الأولى باكالوريا علوم وتكنولوجيات ميكانيكية", "1re bac sciences et technologies mécaniques"),
}
_BAC2 = {
    "SP": ("الثانية باكالوريا علوم فيزيائية", "2e bac sciences physiques"),
    "SVT": ("الثانية باكالوريا علوم الحياة والأرض", "2e bac sciences de la vie et de la terre"),
    "SA": ("الثانية باكالوريا علوم زراعية", "2e bac sciences agronomiques"),
    "SMA": ("الثانية باكالوريا علوم رياضية أ", "2e bac sciences mathématiques A"),
    "SMB": ("الثانية باكالوريا علوم رياضية ب", "2e bac sciences mathématiques B"),
    "L": ("الثانية باكالوريا آداب", "2e bac lettres"),
    "SH": ("الثانية باكالوريا علوم إنسانية", "2e bac sciences humaines"),
    "SE": ("الثانية باكالوريا علوم اقتصادية", "2e bac sciences économiques"),
    "SGC": ("الثانية باكالوريا علوم التدبير المحاسباتي", "2e bac sciences de gestion comptable"),
    "STE": ("الثانية باكالوريا علوم وتكنولوجيات كهربائية", "2e bac sciences et technologies électriques"),
    "STM": ("الثانية باكالوريا علوم وتكنولوجيات ميكانيكية", "2e bac sciences et technologies mécaniques"),
}
# Codes of older files without the option letter, kept so those files still load.
_LEGACY_LYCEE = {
    "TCS": ("TC", "S"),
    "TCLSH": ("TC", "LSH"),
    "TCT": ("TC", "T"),
    "1BACSE": ("1BAC", "SE"),
    "1BACSM": ("1BAC", "SM"),
    "1BACL": ("1BAC", "L"),
    "2BACSVT": ("2BAC", "SVT"),
    "2BACPC": ("2BAC", "SP"),
    "2BACSM": ("2BAC", "SMA"),
    "2BACL": ("2BAC", "L"),
}


def _lycee() -> list[Level]:
    out = []
    years = {"TC": (1, _TC), "1BAC": (2, _BAC1), "2BAC": (3, _BAC2)}
    for prefix, (year, streams) in years.items():
        for stream, (ar, fr) in streams.items():
            for option, (opt_ar, opt_fr) in _OPTIONS.items():
                out.append(Level(f"{prefix}{stream}{option}", "lycee", year, 20, f"{ar} - {opt_ar}", f"{fr}, {opt_fr}"))
    for code, (prefix, stream) in _LEGACY_LYCEE.items():
        year, streams = years[prefix]
        ar, fr = streams[stream]
        out.append(Level(code, "lycee", year, 20, ar, fr))
    return out


LEVELS: tuple[Level, ...] = (*_primary(), *_college(), *_lycee())
BY_CODE: dict[str, Level] = {level.code: level for level in LEVELS}

if len(BY_CODE) != len(LEVELS):
    raise ValueError("duplicate level code in the shipped catalogue")


def nearest_codes(code: str, known: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The known codes closest to a mistyped one (`1ASC` -> 1ASCG, ...), for error messages."""
    code = code.strip().upper()
    close = difflib.get_close_matches(code, known, n=n, cutoff=0.5)
    if len(close) < n:
        # a code that only lacks its suffix (`2BACSV`) is close to every code it begins
        close += sorted(k for k in known if k.startswith(code) and k not in close)[: n - len(close)]
    return close
