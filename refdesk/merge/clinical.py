"""What a progress report and a super bill say about care: the visits with their pain ratings,
the measured outcome against the plan's goal (in words, and as a chart), the latest SOAP notes,
the therapist's signature, and a super bill's service lines pointing into its diagnoses.

The referring office reads a report for results it can trust: "from 5 to 2 headache days per
week; goal 1: 75% of the way" says more than a count of visits. An insurer reads a super bill
as it reads a claim form (CMS-1500): each line has its date, place of service, code, units,
diagnosis pointer and charge, and no field is left blank for it to guess.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import TYPE_CHECKING, Any

from refdesk.config import Practice
from refdesk.dates import as_date

if TYPE_CHECKING:
    from refdesk.merge.data import Data, Record

#: The parts of a SOAP note, in the order a note reads, with their headings.
SOAP = (("subjective", "Subjective"), ("objective", "Objective"),
        ("assessment", "Assessment"), ("plan", "Plan"))
#: Short names of the common codes, so that a service line fits its cell on one line.
CPT_SHORT = {
    "97124": "Massage therapy, 15 min",
    "97140": "Manual therapy, 15 min",
    "97112": "Neuromuscular re-ed, 15 min",
    "97110": "Ther. exercise, 15 min",
    "97530": "Ther. activities, 15 min",
    "97010": "Hot or cold packs",
    "97026": "Infrared therapy",
}
#: Codes billed in 15-minute units: a line without units counts them from its minutes.
TIMED = {"97124", "97140", "97112", "97110", "97530"}
#: Place-of-service codes a massage practice meets, in words (CMS place of service codes).
PLACES = {"02": "telehealth", "03": "school", "10": "telehealth, patient's home",
          "11": "office", "12": "home", "15": "mobile unit", "19": "off-campus outpatient",
          "22": "on-campus outpatient", "49": "independent clinic", "99": "other"}
#: Letters of a bill's diagnoses (CMS-1500 box 21 has twelve, A to L).
LETTERS = "ABCDEFGHIJKL"
#: The most diagnoses one service line points to (box 24E takes four letters).
POINTERS = 4
MINUS = "\u2212"
#: What a visit's table shows for a rating or score not taken.
NOT_RECORDED = "\u2013"

CHART_WIDTH_CM, CHART_HEIGHT_CM = 14.0, 5.0
CHART_DPI = 200
CHART_INK, CHART_LINE, CHART_GOAL, CHART_GRID = "#222222", "#24585C", "#7A8486", "#D5DCDD"


# -- numbers and words ------------------------------------------------------------------------
def number(value: Any) -> float | None:
    """A score or goal as a number: a number as it is, text such as "24" or "24 %" read."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*%?\s*", str(value))
    return float(match.group(1)) if match else None


def figure(value: float) -> str:
    """5.0 -> "5", 2.25 -> "2.25", 1.333 -> "1.33"."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else ""


class Scale:
    """How a measure's values read: "40%" for a percentage, "5" otherwise, and the phrase
    around them ("from 5 to 2 headache days per week", "Neck Disability Index from 40% to
    24%")."""

    def __init__(self, measure: str) -> None:
        self.measure = measure.strip()
        self.percent = self.measure.endswith("%")
        self.name = self.measure.rstrip("% ").strip() if self.percent else self.measure
        # a measure named as a count of something ("headache days per week") follows it
        self.unit_after = " per " in f" {self.measure} " or self.measure.startswith("number")

    def value(self, x: float) -> str:
        return figure(x) + ("%" if self.percent else "")

    def change(self, delta: float) -> str:
        sign = "+" if delta > 0 else MINUS if delta < 0 else ""
        return sign + figure(abs(delta)) + (" points" if self.percent else "")

    def span(self, first: float, latest: float) -> str:
        if not self.name:
            return f"from {self.value(first)} to {self.value(latest)}"
        if self.unit_after:
            return f"from {self.value(first)} to {self.value(latest)} {self.name}"
        return f"{self.name} from {self.value(first)} to {self.value(latest)}"

    def one(self, x: float) -> str:
        if not self.name:
            return self.value(x)
        return f"{self.value(x)} {self.name}" if self.unit_after else \
            f"{self.name} {self.value(x)}"


def toward(first: float, latest: float, goal: float) -> str:
    """How far from the first score to the goal the latest has come, in words."""
    if goal == first:
        return "goal reached" if latest == goal else "goal was the first score"
    share = (latest - first) / (goal - first)
    if share >= 1:
        return "goal reached"
    if share <= 0:
        return "no progress toward it yet" if share == 0 else "further from it than at first"
    return f"{round(share * 100)}% of the way"


# -- the progress report ----------------------------------------------------------------------
def shares_care(job: Any) -> bool:
    """Pain ratings, scores and notes go to a provider only under a release that covers
    progress or SOAP notes (the job's scope); a document to the client always has them."""
    return job.to == "client" or bool({"progress", "SOAP notes"} & set(job.scope))


def visit_rows(visits: list[dict[str, Any]], care: bool, measure: str = ""
               ) -> list[dict[str, str]]:
    """Each visit: date, code, minutes, and (with `care`) pain before and after and the
    score, read as the measure reads ("46%")."""
    from refdesk.merge.data import letter_date, text

    def shown(value: str) -> str:
        # a rating not taken reads as such, not as a cell left blank by mistake
        return (value or NOT_RECORDED) if care else ""

    scale = Scale(measure)
    rows = []
    for v in visits:
        score = number(v.get("measure_score"))
        rows.append({
            "date": letter_date(v["date"]), "cpt": text(v.get("cpt")),
            "minutes": text(v.get("minutes")),
            "pain_before": shown(text(v.get("pain_before"))),
            "pain_after": shown(text(v.get("pain_after"))),
            "score": shown(scale.value(score) if score is not None else "")})
    return rows


def latest_notes(visits: list[dict[str, Any]], care: bool) -> dict[str, Any]:
    """Each part of the SOAP note from the latest visit that has it, with that visit's date;
    `latest` lists the parts found, in SOAP order."""
    from refdesk.merge.data import letter_date, text

    notes: dict[str, Any] = {}
    found = []
    for key, label in SOAP:
        visit = next((v for v in reversed(visits) if text(v.get(key)).strip()), None) \
            if care else None
        part = {"label": label, "text": text(visit.get(key)).strip() if visit else "",
                "date": letter_date(visit["date"]) if visit else ""}
        notes[key] = part
        if part["text"]:
            found.append(part)
    notes["latest"] = found
    return notes


def _average(values: list[float]) -> str:
    return f"{sum(values) / len(values):.1f}"


def pain_summary(visits: list[dict[str, Any]]) -> str:
    """The average pain at the start and the end of a session, over the rated visits."""
    pairs = [(number(v.get("pain_before")), number(v.get("pain_after"))) for v in visits]
    rated = [(b, a) for b, a in pairs if b is not None and a is not None]
    if not rated:
        return ""
    visits_word = "visit" if len(rated) == 1 else "visits"
    return (f"Pain (0-10) averaged {_average([b for b, _ in rated])} at the start of a session "
            f"and {_average([a for _, a in rated])} at the end, over {len(rated)} rated "
            f"{visits_word}.")


def outcome(referral: dict[str, Any], visits: list[dict[str, Any]], care: bool
            ) -> dict[str, Any]:
    """The referral's measure against its goal: first and latest scores, the change, how far
    toward the goal in words, and a chart when there are two scores or more (or one and a
    goal: the distance still to cover)."""
    from refdesk.merge.data import letter_date, text

    empty = {"measure": "", "goal": "", "first": "", "first_date": "", "latest": "",
             "latest_date": "", "change": "", "toward_goal": "", "summary": "", "pain": "",
             "scores": [], "chart": ""}
    if not care:
        return empty
    measure = text(referral.get("measure")).strip()
    scale = Scale(measure)
    goal = number(referral.get("goal"))
    points = [(v["date"], s) for v in visits
              if (s := number(v.get("measure_score"))) is not None]
    result = dict(empty, measure=measure, pain=pain_summary(visits),
                  goal=scale.value(goal) if goal is not None else "",
                  scores=[{"date": letter_date(d), "score": scale.value(s)} for d, s in points])
    goal_words = f"goal {scale.value(goal)}" if goal is not None else "no goal set"
    if not points:
        if measure:
            result["summary"] = _sentence(f"{measure}: no scores recorded yet; {goal_words}")
        return result
    (first_day, first), (latest_day, latest) = points[0], points[-1]
    result.update(first=scale.value(first), first_date=letter_date(first_day),
                  latest=scale.value(latest), latest_date=letter_date(latest_day))
    if len(points) == 1:
        result["summary"] = _sentence(f"{scale.one(first)} on {letter_date(first_day)}, the "
                                      f"only score so far; {goal_words}")
        # One score against the goal still shows the distance the plan has to cover.
        if goal is not None:
            result["chart"] = chart_picture(points, goal, measure)
        return result
    result["change"] = scale.change(latest - first)
    if goal is not None:
        result["toward_goal"] = toward(first, latest, goal)
        result["summary"] = _sentence(f"{scale.span(first, latest)}; {goal_words}: "
                                      f"{result['toward_goal']}")
    else:
        result["summary"] = _sentence(f"{scale.span(first, latest)} ({goal_words})")
    result["chart"] = chart_picture(points, goal, measure)
    return result


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:]


def chart_png(points: list[tuple[dt.date, float]], goal: float | None, measure: str) -> bytes:
    """A line of the scores over the visits' dates, the goal dashed, as PNG bytes sized to
    print 14 cm x 5 cm with type of 8 pt and more. The same data gives the same bytes: no
    software name or date in the file, and the font matplotlib ships."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, MaxNLocator

    scale = Scale(measure)
    cm = 1 / 2.54
    fig = Figure(figsize=(CHART_WIDTH_CM * cm, CHART_HEIGHT_CM * cm), dpi=CHART_DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # text from the workbook is never read as matplotlib's math ($...$)
    plain = {"parse_math": False, "color": CHART_INK}
    days = [date2num(d) for d, _ in points]
    scores = [s for _, s in points]
    ax.plot(days, scores, color=CHART_LINE, linewidth=1.6, marker="o", markersize=4,
            clip_on=False, zorder=3)
    # each score over its point, while they have room; else the first and the latest
    labelled = range(len(points)) if len(points) <= 12 else (0, len(points) - 1)
    for i in labelled:
        x, y = days[i], scores[i]
        ax.annotate(scale.value(y), (x, y), textcoords="offset points", xytext=(0, 5),
                    ha="center", va="bottom", fontsize=8, **plain)
    values = [*scores, *([goal] if goal is not None else [])]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.25, 1.0)
    ax.set_ylim(max(low - pad, 0) if low >= 0 else low - pad, high + pad)
    if goal is not None:
        ax.axhline(goal, color=CHART_GOAL, linewidth=1.2, linestyle=(0, (5, 3)), zorder=2)
        # named in the margin at the line's end, clear of the latest score
        ax.annotate(f"goal {scale.value(goal)}", (1, goal), xycoords=("axes fraction", "data"),
                    textcoords="offset points", xytext=(4, 0), ha="left", va="center",
                    fontsize=8, parse_math=False, color=CHART_GOAL, annotation_clip=False)
    span = max(days[-1] - days[0], 1)
    ax.set_xlim(days[0] - span * 0.04, days[-1] + span * 0.04)
    step = max(1, -(-len(points) // 7))  # at most seven dates under the axis
    ticks = [points[i][0] for i in range(0, len(points), step)]
    ax.xaxis.set_major_locator(FixedLocator([date2num(d) for d in ticks]))
    ax.set_xticklabels([f"{d:%b} {d.day}" for d in ticks])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(lambda y, _pos: scale.value(y))
    ax.tick_params(labelsize=8, colors=CHART_INK, length=3)
    ax.grid(axis="y", color=CHART_GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(CHART_GOAL)
    ax.set_title(_sentence(f"{scale.name or 'score'}{' (%)' if scale.percent else ''}, by visit"),
                 loc="left", fontsize=9, **plain)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def chart_picture(points: list[tuple[dt.date, float]], goal: float | None,
                  measure: str) -> Any:
    """The chart as a picture a template places, 14 cm wide, drawn when a letter first
    places it: a dry run, which reads the data and renders nothing, draws no chart."""
    from refdesk.merge.package import Picture

    class Chart(Picture):
        def __init__(self) -> None:
            self.drawn = False  # Picture's own __init__ runs when a letter places it

        def _insert_image(self) -> str:
            if not self.drawn:
                from docx.shared import Cm

                days = [(as_date(d) or d, s) for d, s in points]
                Picture.__init__(self, io.BytesIO(chart_png(days, goal, measure)),
                                 width=Cm(CHART_WIDTH_CM))
                self.drawn = True
            return super()._insert_image()

    return Chart()


def signed(practice: Practice, today: dt.date) -> dict[str, Any]:
    """The signature: [practice] signature_image when there is one, else a typed line saying
    who signed, electronically, on the day the document is made."""
    from refdesk.merge.data import letter_date, signature_picture

    name = ", ".join(x for x in (practice.therapist, practice.credentials) if x)
    day = letter_date(today)
    return {"image": signature_picture(practice.signature_image), "name": name, "date": day,
            "line": f"Electronically signed by {name} on {day}"}


def progress(data: Data, record: Record, job: Any) -> dict[str, Any]:
    """What a progress report adds for a referral: the visits with pain ratings (`visits`),
    the measured outcome (`outcome`) and the latest notes (`notes`)."""
    from refdesk.merge.data import text

    care = shares_care(job)
    visits = data.visits_by_referral.get(record.key, [])
    return {"visits": visit_rows(visits, care, text(record.fields.get("measure"))),
            "outcome": outcome(record.fields, visits, care),
            "notes": latest_notes(visits, care)}


def progress_shape() -> dict[str, Any]:
    """The keys `progress` gives, each list holding one example item."""
    note = {"label": "", "text": "", "date": ""}
    return {
        "visits": [{"date": "", "cpt": "", "minutes": "", "pain_before": "", "pain_after": "",
                    "score": ""}],
        "outcome": {"measure": "", "goal": "", "first": "", "first_date": "", "latest": "",
                    "latest_date": "", "change": "", "toward_goal": "", "summary": "",
                    "pain": "", "scores": [{"date": "", "score": ""}], "chart": ""},
        "notes": {**{key: dict(note) for key, _ in SOAP}, "latest": [dict(note)]},
    }


# -- the super bill ---------------------------------------------------------------------------
def units(visit: dict[str, Any]) -> str:
    """Billing units as entered; else, for a timed code, counted from the minutes by the
    8-minute rule (8-22 minutes one unit, 23-37 two, ...); else one."""
    from refdesk.merge.data import text

    if visit.get("units") not in (None, ""):
        return text(visit.get("units"))
    minutes = number(visit.get("minutes"))
    if text(visit.get("cpt")) in TIMED and minutes is not None and minutes >= 8:
        return str(int((minutes + 7) // 15))
    return "1"


def place_code(practice: Practice) -> str:
    return practice.place_of_service or "11"


def place(practice: Practice) -> str:
    """The place of service with its name: "11 (office)"."""
    code = place_code(practice)
    return f"{code} ({PLACES[code]})" if code in PLACES else code


def bill(data: Data, record: Record, practice: Practice) -> dict[str, Any]:
    """A client-month's super bill: the diagnoses lettered A, B, ... (box 21), a line per visit
    pointing to its diagnoses' letters (box 24), the referring provider, totals, and the
    client's insurance in words when there is none."""
    from refdesk.merge.data import (
        bill_visits,
        city_line,
        letter_date,
        money,
        provider_context,
        text,
        visit_diagnoses,
    )

    visits = bill_visits(data, record)
    codes: list[dict[str, str]] = []
    lines = []
    referring = None
    for v in visits:
        found = visit_diagnoses(data, v)
        for d in found:
            if d["code"] not in [c["code"] for c in codes] and len(codes) < len(LETTERS):
                codes.append({"letter": LETTERS[len(codes)], **d})
        letters = [c["letter"] for d in found for c in codes if c["code"] == d["code"]]
        cpt = text(v.get("cpt"))
        day = v["date"]
        lines.append({
            "date": letter_date(day), "service_date": f"{day:%m/%d/%Y}",
            "pos": place_code(practice), "cpt": cpt,
            "description": CPT_SHORT.get(cpt, ""), "units": units(v),
            "pointer": "".join(letters[:POINTERS]),
            "fee": money(v.get("fee")) if v.get("fee") is not None else "no fee entered"})
        if referring is None:  # the first visit's referral that names a provider
            referral = data.referrals_by_id.get(v.get("referral_id") or "")
            provider = data.providers.get((referral or {}).get("provider_id") or "")
            if provider is not None:
                referring = provider_context(provider)
    if referring is not None and not referring["npi"]:
        referring["npi"] = "not on file"
    fees = sum(v.get("fee") or 0 for v in visits)
    paid = sum(v.get("paid") or 0 for v in visits)
    client = data.clients.get(record.client_id or "") or {}
    carrier, member = text(client.get("insurance_carrier")), text(client.get("member_id"))
    address = ", ".join(x for x in (text(client.get("street")), city_line(
        client.get("city"), client.get("state"), client.get("zip"))) if x)
    year, month = (int(x) for x in (record.month or "1900-01").split("-"))
    return {
        "diagnoses": codes, "referring": referring,
        "bill": {
            "period": f"{dt.date(year, month, 1):%B %Y}", "place_of_service": place(practice),
            "insurance": carrier or "self-pay (no insurance on file)", "member_id": member or (
                "not on file" if carrier else "none (self-pay)"),
            "dob": letter_date(client.get("dob")) or "not on file",
            "address": address or "address not on file",
            "visits": lines,
            "payments": [{"date": letter_date(v["date"]), "amount": money(v.get("paid")),
                          "method": text(v.get("payment_method")) or "not recorded"}
                         for v in visits if (v.get("paid") or 0) > 0],
            "total_fees": money(fees), "total_paid": money(paid), "balance": money(fees - paid),
        },
    }


def bill_shape(practice_free: dict[str, Any]) -> dict[str, Any]:
    """The keys `bill` gives; `practice_free` is the referring provider's empty context."""
    return {
        "diagnoses": [{"letter": "", "code": "", "description": ""}],
        "referring": practice_free,
        "bill": {"period": "", "place_of_service": "", "insurance": "", "member_id": "",
                 "dob": "", "address": "", "total_fees": "", "total_paid": "", "balance": "",
                 "visits": [{"date": "", "service_date": "", "pos": "", "cpt": "",
                             "description": "", "units": "", "pointer": "", "fee": ""}],
                 "payments": [{"date": "", "amount": "", "method": ""}]},
    }
