"""SOAP notes of the sample practice, in a massage therapist's words: each note composed from
phrase lists for the client's condition, so that no two read alike.

S is what the client reports, O what the therapist found (range of motion, trigger points),
A the response and the measure against the goal, P the frequency and the home care.
"""

from __future__ import annotations

import random
from typing import Any

from refdesk.sample.care import Referral

#: What each family of conditions is called in the phrase lists below.
FAMILIES = ("head", "neck", "back", "jaw", "shoulder", "general")

SUBJECTIVE: dict[str, tuple[str, ...]] = {
    "head": ("{headache} since the last session{since}.",
             "Reports {headache} this week; {meds}.",
             "Headaches shorter and milder; {headache} this past week.",
             "One bad migraine day over the weekend; {headache} in all.",
             "Afternoon headaches at the desk {trend}; {headache} this week.",
             "Poor sleep this week; {headache}, {meds}."),
    "neck": ("Neck stiffness on waking {trend}.",
             "Shoulder checks while driving {ease}.",
             "Neck sore after long days at the computer; {trend} overall.",
             "Turning the head {ease}; still tight by evening.",
             "Slept on a new pillow; morning stiffness {trend}."),
    "back": ("Low back ache after sitting more than an hour.",
             "Bending to lift {ease}; still stiff in the mornings.",
             "Slept through the night twice this week; back pain {trend}.",
             "Walked 20 minutes most days without the ache building."),
    "jaw": ("Wakes with a sore jaw {freq}; less clenching noticed during the day.",
            "Chewing tougher food {ease}.",
            "Clicking on the left {trend}; wearing the night guard.",
            "Jaw tired after long calls; temple headaches {trend}."),
    "shoulder": ("Tightness across the upper back after desk work {trend}.",
                 "Reaching overhead {ease}.",
                 "Carrying groceries no longer sets off the shoulder.",
                 "Upper back burns by mid-afternoon; {trend} since starting."),
    "general": ("Overall aching {trend}; sleeping better.",
                "A flare after a stressful week; eased by the weekend.",
                "Energy better; fewer sore spots on waking.",
                "Aching in the shoulders and hips {trend}."),
}
#: What a client says at the first visit.
INTAKE: dict[str, tuple[str, ...]] = {
    "head": ("Reports {headache} a week, most in the afternoon; {meds}.",
             "Headaches for months, {headache} a week; worse with poor sleep.",
             "About {headache} a week, often waking with one; {meds}."),
    "neck": ("Neck pain for several months; worse at the computer.",
             "Stiff neck since the accident; shoulder checks while driving are hard.",
             "Neck aches by the end of the workday; sleep disturbed."),
    "back": ("Low back pain, worse after sitting; hard to sleep through the night.",
             "Back aches when standing to cook or lifting; eased by walking."),
    "jaw": ("Sore jaw on waking; clenches during the day; clicking on the left.",
            "Jaw pain when chewing; temple headaches after long days."),
    "shoulder": ("Tightness across the upper back and shoulders from desk work.",
                 "Shoulder aches reaching overhead; worse by evening."),
    "general": ("Widespread aching, worse in the mornings; poor sleep.",
                "Muscle pain in the shoulders and hips for months; tired."),
}
MEDS = ("no rescue medication needed", "took rescue medication once",
        "used a triptan twice", "ibuprofen on two days")
TREND = {"better": ("improving", "easing", "less than before", "better"),
         "same": ("about the same", "unchanged", "no worse")}
EASE = {"better": ("easier", "easier than at intake", "no longer painful"),
        "same": ("still difficult", "about the same")}
FREQ = ("most mornings", "two or three mornings a week", "now and then")

MUSCLES = {
    "head": ("the suboccipitals", "bilateral upper trapezius", "the right SCM",
             "temporalis bilaterally", "splenius capitis", "the left levator scapulae"),
    "neck": ("bilateral upper trapezius", "the left levator scapulae", "the scalenes",
             "the suboccipitals", "the right SCM", "splenius cervicis"),
    "back": ("the quadratus lumborum", "the left gluteus medius", "the lumbar erectors",
             "piriformis on the right", "the right gluteus medius"),
    "jaw": ("masseter bilaterally", "the left temporalis", "the medial pterygoid",
            "the lateral pterygoid", "the digastric"),
    "shoulder": ("the rhomboids", "the middle trapezius", "infraspinatus",
                 "the left levator scapulae", "pectoralis minor"),
    "general": ("the upper trapezius", "the gluteals", "the lumbar erectors",
                "the rhomboids", "the forearm extensors"),
}
RESPONSE = ("tolerated firm pressure well", "tissue softened noticeably with treatment",
            "trigger points released with sustained pressure", "less guarding than last time",
            "responded well to myofascial release", "tender but tolerated the work")
HOME_CARE = {
    "head": ("chin tucks 10 twice a day", "heat to the neck before bed",
             "a headache and sleep log", "screen breaks every 30 minutes",
             "self-massage of the suboccipitals with a tennis ball"),
    "neck": ("chin tucks 10 twice a day", "doorway pec stretch", "heat 15 minutes at night",
             "levator stretch three times a day", "raise the monitor to eye level"),
    "back": ("pelvic tilts and cat-cow each morning", "knee-to-chest stretch",
             "a short walk every hour of sitting", "heat before bed",
             "glute bridges, 10 once a day"),
    "jaw": ("tongue to palate, teeth apart, lips together", "warm compress to the jaw",
            "masseter self-massage before bed", "soft foods on bad days"),
    "shoulder": ("doorway pec stretch", "shoulder blade squeezes at the desk",
                 "foam roller along the upper back", "heat after work"),
    "general": ("gentle stretching daily", "Epsom salt baths", "a walk most days",
                "heat to sore areas"),
}
SHORT = {"headache days per week": "Headache days/week", "Neck Disability Index %": "NDI",
         "Oswestry Disability Index %": "Oswestry", "Patient-Specific Functional Scale": "PSFS"}


def family(r: Referral) -> str:
    focus = r.client.focus
    if r.measure.startswith("headache"):
        return "head"
    if r.measure.startswith("Neck"):
        return "neck"
    if r.measure.startswith("Oswestry"):
        return "back"
    if "jaw" in focus:
        return "jaw"
    if "shoulder" in focus or "back" in focus:
        return "shoulder"
    return "general"


def _value(measure: str, score: float) -> str:
    text = f"{score:g}"
    return f"{text}%" if measure.endswith("%") else text


def _objective(rng: random.Random, kind: str, rotation: int, done: float) -> str:
    muscles = " and ".join(rng.sample(MUSCLES[kind], 2))
    if kind in ("head", "neck"):
        right = rotation + round((78 - rotation) * done) + rng.randint(-3, 3)
        left = right + rng.choice((-8, -5, -3, 0, 2))
        return f"Cervical rotation {right}° right, {left}° left; trigger points in {muscles}."
    if kind == "jaw":
        opening = 30 + round(10 * done) + rng.randint(-1, 1)
        side = rng.choice(("left", "right"))
        return (f"Mouth opening {opening} mm with deviation to the {side}; trigger points in "
                f"{muscles}.")
    if kind == "back":
        reach = max(2, 14 - round(10 * done) + rng.randint(-1, 1))
        return (f"Forward bend to {reach} in. from the floor; tender over {muscles}.")
    if kind == "shoulder":
        flexion = 140 + round(30 * done) + rng.randint(-4, 4)
        return f"Shoulder flexion {flexion}° on the affected side; trigger points in {muscles}."
    return f"Hypertonicity through {muscles}; {rng.choice(('mild', 'moderate'))} tenderness."


def _assessment(rng: random.Random, r: Referral, pain: tuple[int, int] | None,
                score: float | None, first: float | None, intake: bool) -> str:
    response = rng.choice(RESPONSE)
    if score is None or first is None:
        if pain is None:
            return f"{response[0].upper()}{response[1:]}; progressing as planned."
        return f"Pain {pain[0]}/10 to {pain[1]}/10 over the session; {response}."
    name = SHORT.get(r.measure, r.measure)
    goal = f"goal {_value(r.measure, r.goal)}" if r.goal is not None else "no goal set yet"
    if intake:
        change = "at intake"
    elif score == first:
        change = "unchanged from intake"
    else:
        change = f"{'down' if score < first else 'up'} from {_value(r.measure, first)} at intake"
    return f"{name} {_value(r.measure, score)} {change} ({goal}); {response}."


def soap_note(rng: random.Random, r: Referral, rotation: int, done: float, n: int,
              pain: tuple[int, int] | None, score: float | None, first: float | None
              ) -> dict[str, Any]:
    """The four parts of one visit's note: the n-th visit (from 0), `done` of the way to the
    goal; the pain before and after and the score when they were recorded."""
    kind = family(r)
    how = "better" if done > 0.3 and rng.random() < 0.8 else "same"
    days = f"{score:g}" if score is not None and kind == "head" else rng.choice(("two", "three"))
    headache = f"{days} headache day{'' if days == '1' else 's'}"
    since = ", down from the week before" if how == "better" and n else ""
    subjective = rng.choice((INTAKE if n == 0 else SUBJECTIVE)[kind]).format(
        headache=headache, since=since, meds=rng.choice(MEDS), trend=rng.choice(TREND[how]),
        ease=rng.choice(EASE[how]), freq=rng.choice(FREQ))
    left = r.authorized - n - 1
    visits = f" ({left} visit{'s' if left != 1 else ''} left)" if 0 < left < r.authorized else ""
    care = rng.choice(HOME_CARE[kind])
    plan = rng.choice((
        f"Continue {r.per_week}x/week{visits}; home care: {care}.",
        f"Same plan{visits}; added {care}.",
        f"Continue {r.per_week}x/week; reviewed {care}.",
    ))
    if n == 0:
        plan = (f"Plan of care {r.per_week}x/week for {r.weeks} weeks; home care: {care}.")
    elif left <= 0:
        plan = f"Last authorized visit; home care: {care}; report to the provider."
    return {"subjective": subjective[0].upper() + subjective[1:],
            "objective": _objective(rng, kind, rotation, done),
            "assessment": _assessment(rng, r, pain, score, first, n == 0), "plan": plan}
