"""From the registry's taxonomy descriptions (the NUCC code set's wording, e.g. "Family
Medicine", "Psychiatry & Neurology, Neurology", "Chiropractor") to the workbook's specialties.

Two directions: `specialty_for` names the workbook specialty a taxonomy reads as (for `fill`),
and `agrees` says whether a row's specialty fits a taxonomy (for `check --registry`), which is
more tolerant: a nurse practitioner in family practice fits "primary care".
"""

from __future__ import annotations

#: Workbook specialty -> words of the taxonomy descriptions that name it, the more specific
#: specialties first (a "Family Medicine, Sports Medicine" taxonomy is sports medicine).
NAMES: dict[str, tuple[str, ...]] = {
    "acupuncture": ("acupunctur",),
    "naturopathy": ("naturopath",),
    "chiropractic": ("chiropract",),
    "physical therapy": ("physical therap",),
    "dentistry": ("dentist", "dental", "orthodont", "endodont", "periodont", "prosthodont",
                  "oral and maxillofacial", "oral & maxillofacial"),
    "rheumatology": ("rheumatolog",),
    "oncology": ("oncolog",),
    "neurology": ("neurolog",),
    "OB/GYN": ("obstetric", "gynecolog"),
    "sports medicine": ("sports medicine",),
    "orthopedics": ("orthopaedic", "orthopedic"),
    "pain management": ("pain medicine", "pain management"),
    "psychotherapy": ("psycholog", "social worker", "counselor", "marriage & family",
                      "marriage and family", "psychoanalys", "psychiatr"),
    "internal medicine": ("internal medicine",),
    "family medicine": ("family medicine", "family practice", "general practice"),
    "primary care": ("primary care",),
}

#: Further taxonomy words a row's specialty accepts: a generalist's row fits the taxonomies
#: practices commonly enrol those clinicians under.
_GENERALIST = ("family", "internal medicine", "general practice", "primary care", "pediatric",
               "nurse practitioner", "physician assistant", "adult health", "gerontolog")
ALSO: dict[str, tuple[str, ...]] = {
    "primary care": _GENERALIST,
    "family medicine": _GENERALIST,
    "internal medicine": _GENERALIST,
    "sports medicine": ("orthopaedic", "physical medicine & rehabilitation", "family medicine"),
    "orthopedics": ("sports medicine", "orthopaedic surgery"),
    "pain management": ("anesthesiology", "physical medicine & rehabilitation"),
    "physical therapy": ("physical therapist",),
    "neurology": ("neurological surgery", "neuromusculoskeletal"),
    "OB/GYN": ("women's health", "midwife"),
    "oncology": ("hematology",),
    "psychotherapy": ("behavior", "mental health", "clinical neuropsychologist"),
}

_BY_LOWER = {name.lower(): name for name in NAMES}


def specialty_for(description: str) -> str | None:
    """The workbook specialty a taxonomy description reads as, or None."""
    text = description.lower()
    for specialty, words in NAMES.items():
        if any(word in text for word in words):
            return specialty
    return None


def known(specialty: str) -> bool:
    """Whether refdesk can judge this specialty against a taxonomy (one of the suggestions)."""
    return specialty.strip().lower() in _BY_LOWER


def agrees(specialty: str, description: str) -> bool:
    """Whether a row's specialty fits a taxonomy description. A specialty refdesk does not
    know (typed freely) agrees with any taxonomy: there is nothing to compare it with."""
    name = _BY_LOWER.get(specialty.strip().lower())
    if name is None or not description.strip():
        return True
    text = description.lower()
    if name.lower() in text:
        return True
    return any(word in text for word in (*NAMES[name], *ALSO.get(name, ())))
