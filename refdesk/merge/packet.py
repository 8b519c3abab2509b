"""The documents of a referral relationship, in the words a doctor's office reads: the quotes of
an introductory packet chosen for the provider's specialty, the practical sentences of the
letter of introduction, the wording of a note telling a provider a client was sent to them,
and the data of a client's thank-you card to the doctor who referred them.

Quotes are chosen without a clock or chance: the same workbook on the same day gives the same
packet, and a provider who had packets before gets the next quotes in turn.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from refdesk.dates import as_date
from refdesk.schema import LIST_SEPARATOR, SPECIALTIES

if TYPE_CHECKING:
    from refdesk.config import Practice
    from refdesk.merge.data import Data

#: The conditions each specialty's patients commonly bring to a massage therapist: a quote
#: about any of them speaks to that provider. Matched by words (see `fits`).
SPECIALTY_CONDITIONS: dict[str, tuple[str, ...]] = {
    "primary care": ("headache", "neck", "back", "shoulder", "stress", "tension", "insomnia",
                     "fibromyalgia"),
    "family medicine": ("headache", "neck", "back", "shoulder", "stress", "tension", "insomnia",
                        "prenatal", "pregnancy"),
    "internal medicine": ("fibromyalgia", "headache", "back", "neck", "stress", "lymphedema"),
    "chiropractic": ("neck", "back", "whiplash", "posture", "sciatica", "shoulder", "hip"),
    "physical therapy": ("neck", "back", "shoulder", "knee", "hip", "whiplash", "surgery",
                         "injury", "frozen shoulder", "scar", "range of motion"),
    "orthopedics": ("knee", "hip", "shoulder", "surgery", "replacement", "fracture", "back",
                    "injury"),
    "pain management": ("chronic pain", "fibromyalgia", "back", "neck", "migraine", "sciatica",
                        "headache", "nerve"),
    "neurology": ("migraine", "headache", "concussion", "neuropathy", "nerve", "vertigo"),
    "OB/GYN": ("prenatal", "pregnancy", "pregnant", "postpartum", "pelvic", "labor"),
    "dentistry": ("jaw", "TMJ", "TMD", "bruxism", "grinding", "clenching", "facial"),
    "psychotherapy": ("anxiety", "stress", "depression", "insomnia", "sleep", "trauma",
                      "tension"),
    "sports medicine": ("sport", "sports injury", "athlete", "running", "strain", "sprain",
                        "shoulder", "knee", "hamstring", "recovery", "tendinitis"),
    "rheumatology": ("arthritis", "fibromyalgia", "joint", "stiffness", "lupus"),
    "oncology": ("cancer", "lymphedema", "chemotherapy", "fatigue", "scar"),
    "naturopathy": ("stress", "headache", "digestion", "insomnia", "fibromyalgia", "fatigue"),
    "acupuncture": ("headache", "migraine", "back", "neck", "stress", "sciatica"),
}
assert set(SPECIALTY_CONDITIONS) == set(SPECIALTIES), "a specialty has no conditions"

#: Words that say nothing about which condition a quote is about.
_GENERIC = {"pain", "and", "or", "of", "the", "a", "an", "in", "my", "with", "after", "from",
            "chronic", "type", "relief", "syndrome", "disorder", "upper", "lower", "low"}
#: Most quotes a packet holds.
PACKET_QUOTES = 3


def _stem(word: str) -> str:
    """A word's singular, roughly: headaches -> headache (stress and TMJ stay)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is", "us")):
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    """The words of a condition that say which condition it is."""
    found = re.findall(r"[a-z0-9]+", text.lower())
    return {_stem(w) for w in found if w not in _GENERIC}


def _same(a: str, b: str) -> bool:
    """Two words are the same, allowing a typo in a long word (migrane, migraine)."""
    return a == b or (min(len(a), len(b)) >= 6 and fuzz.ratio(a, b) >= 88)


def fits(condition: str, term: str) -> bool:
    """A quote's condition speaks to a term (a specialty's condition or the practice's): every
    telling word of the term is among the condition's. "neck" fits "neck pain and whiplash";
    "back" does not fit "neck pain", since "pain" tells nothing."""
    have, want = words(condition), words(term)
    return bool(want) and all(any(_same(w, h) for h in have) for w in want)


def specialty_terms(specialty: str) -> tuple[str, ...]:
    """The conditions a provider's specialty brings, as typed or close to a known one
    ("Neurology", "neurologist"); none for a specialty refdesk does not know."""
    key = specialty.strip().lower()
    if not key:
        return ()
    known = {s.lower(): s for s in SPECIALTY_CONDITIONS}
    if key not in known:
        found = process.extractOne(key, list(known), scorer=fuzz.WRatio, score_cutoff=86)
        if found is None:
            return ()
        key = found[0]
    return SPECIALTY_CONDITIONS[known[key]]


def conditions(value: Any) -> list[str]:
    """Testimonials.condition as its list of conditions (separated by ;)."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [c.strip() for c in str(value or "").split(LIST_SEPARATOR) if c.strip()]


def _foreign_words(terms: tuple[str, ...]) -> set[str]:
    """Words of other specialties' conditions that are not among these terms."""
    own = set().union(*(words(t) for t in terms)) if terms else set()
    every = set().union(*(words(t) for ts in SPECIALTY_CONDITIONS.values() for t in ts))
    return every - own


def _match(quote_conditions: list[str], terms: Iterable[str]) -> str:
    """The first of a quote's conditions that fits one of the terms, or ""."""
    terms = tuple(terms)
    return next((c for c in quote_conditions if any(fits(c, t) for t in terms)), "")


def usable(data: Data) -> list[dict[str, Any]]:
    """Quotes the client allowed us to use: a quote and a permission date not after today."""
    found = []
    for t in data.testimonials:
        day = as_date(t.get("permission_on"))
        if t.get("quote") and day is not None and day <= data.today:
            found.append(t)
    return found


def earlier_packets(data: Data, job_name: str, provider_id: str) -> int:
    """How many documents of this job the provider has had (Letters rows, failed ones aside)."""
    return sum(1 for letter in data.letters
               if letter.get("job") == job_name and letter.get("provider_id") == provider_id
               and str(letter.get("status") or "").strip().lower() != "failed")


def choose(data: Data, job_name: str, provider: dict[str, Any],
           practice: Practice) -> list[dict[str, str]]:
    """Two or three quotes for a provider's packet: up to three about the conditions of their
    specialty, filled to two with quotes about the practice's own conditions, then general
    ones (no condition); never one about something else. Ranked by tier, newest permission and id;
    each packet starts where the provider's last one stopped."""
    tiers: list[list[tuple[dict[str, Any], str]]] = [[], [], []]
    terms = specialty_terms(str(provider.get("specialty") or ""))
    for t in usable(data):
        said = conditions(t.get("condition"))
        if not said:
            tiers[2].append((t, ""))
        elif found := _match(said, terms):
            tiers[0].append((t, found))
        elif found := _match(said, practice.conditions):
            tiers[1].append((t, found))
    # A fitting quote that also names another specialty's condition ("prenatal back pain"
    # for an orthopedist) comes after the ones that speak to this specialty alone.
    foreign = _foreign_words(terms)
    for tier in tiers:
        tier.sort(key=lambda pair: (bool(words(pair[1]) & foreign),
                                    -(as_date(pair[0]["permission_on"]) or dt.date.min).toordinal(),
                                    str(pair[0].get("testimonial_id") or ""),
                                    pair[0].get("_row", 0)))
    # Up to three that fit; the practice's and general quotes only fill a packet to two.
    # The turn goes round the specialty's quotes while they alone can vary from packet to
    # packet; with too few of them, the practice's and general quotes join it.
    fallback = tiers[1] + tiers[2]
    size = max(min(len(tiers[0]), PACKET_QUOTES), min(2, len(tiers[0]) + len(fallback)))
    pool = tiers[0] if len(tiers[0]) > size else tiers[0] + fallback
    if not size:
        return []
    start = earlier_packets(data, job_name, str(provider.get("provider_id") or "")) * size
    picked = [pool[(start + i) % len(pool)] for i in range(size)]
    return [{"quote": str(t["quote"]),
             "attribution": f"a client treated for {found}" if found else "a client"}
            for t, found in picked]


# -- the letter of introduction ---------------------------------------------------------------
INSURANCE = {
    "direct": "I bill your patients' health insurance directly, so they need not file claims "
              "themselves.",
    "superbill": "I do not bill insurance myself: each month I give your patients a super bill "
                 "(a statement of the services and payments, with your referral's diagnosis "
                 "codes) to submit to their insurer.",
    "none": "My services are private pay: I do not bill insurance or prepare statements for "
            "it.",
}
NEW_PATIENTS = {
    True: "I am accepting new patients.",
    False: "My schedule is full at present, so I am not taking new patients; I will let your "
           "office know as soon as I have room.",
}
PRACTICE_TYPE = {
    "solo": "I work on my own, so your patients see me at every visit and your office deals "
            "with one person.",
    "group": "{name} is a group practice; I am your office's contact for every patient you "
             "refer.",
}


def letter_sentences(practice: Practice) -> dict[str, str]:
    """The sentences a letter uses to say how the practice works (practice_type, insurance,
    new_patients in config.toml)."""
    kind = "my solo" if practice.practice_type == "solo" else "a group"
    return {
        "practice_phrase": f"{kind} {practice.profession} practice",
        "conditions_text": _join(list(practice.conditions)) if practice.conditions else "",
        "practice_type_text": PRACTICE_TYPE.get(practice.practice_type, "").format(
            name=practice.name),
        "insurance_text": INSURANCE.get(practice.insurance, ""),
        "new_patients_text": NEW_PATIENTS[practice.new_patients],
    }


def third_person(practice: Practice) -> str:
    """Why [practice] training reads oddly in a letter signed "I", or "": it starts with the
    therapist's first name ("Maya trained at ...")."""
    first = (practice.therapist.split() or [""])[0]
    text = practice.training.strip()
    if first and re.match(rf"{re.escape(first)}\b", text):
        return (f"[practice] training starts with \"{first}\": the letter of introduction is "
                "signed by you, so write it in the first person (\"I trained at ...\").")
    return ""


# -- the note telling a provider a client was sent to them ------------------------------------
#: Up to this many days ago, a note says "this week" or "recently" rather than the date.
RECENT_DAYS = 14
#: Release scopes as a note names what it lets the therapist share.
SHARES = {"treatment plan": "my treatment plan", "progress": "progress reports",
          "soap notes": "my treatment notes (SOAP notes)", "diagnosis": "the diagnosis"}


def _date(value: dt.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def when_sent(today: dt.date, sent_on: dt.date | None) -> str:
    """How a note opens: "This week" (the same calendar week), "Recently" (within
    RECENT_DAYS), else "On February 2, 2026"."""
    if sent_on is None:
        return "Recently"
    days = (today - sent_on).days
    if 0 <= days <= RECENT_DAYS:
        return "This week" if today.isocalendar()[:2] == sent_on.isocalendar()[:2] \
            else "Recently"
    return f"On {_date(sent_on)}"


def sent_context(today: dt.date, row: dict[str, Any]) -> dict[str, Any]:
    """A Sent row as a note prints it: `when` opens the sentence, `recent` says whether the
    client may simply not have called yet."""
    day = as_date(row.get("sent_on"))
    when = when_sent(today, day)
    return {"sent_on": _date(day) if day else "", "reason": str(row.get("reason") or ""),
            "when": when, "recent": not when.startswith("On ")}


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def release_context(release: dict[str, Any] | None) -> dict[str, Any]:
    """The release a note relies on: what it lets the therapist share (`shares`, from its
    scope: "my treatment plan and progress reports") and its dates."""
    release = release or {}
    scope = conditions(release.get("scope"))
    phrases = [SHARES.get(s.lower(), s) for s in scope]
    signed, expires = as_date(release.get("signed_on")), as_date(release.get("expires_on"))
    return {"scope": scope,
            "shares": _join(phrases) if phrases else "information about their care with me",
            "signed_on": _date(signed) if signed else "",
            "expires_on": _date(expires) if expires else ""}
