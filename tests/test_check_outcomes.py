"""Measured outcomes: pain ratings 0-10, each score within the range of its referral's measure,
goals within their measure's range, and a score with no measure to be read against."""

import datetime as dt

from refdesk.check import Context, cells, check_book, outcomes
from refdesk.check.problem import HIDDEN
from refdesk.sources.excel import ExcelSource
from tests.helpers import TODAY, check_sheets, headers, make_xlsx, minimal_sheets, row

D = dt.datetime
NDI = "Neck Disability Index %"


def base() -> dict:
    """Referrals with measures of every kind and visits whose ratings and scores all fit."""
    s = minimal_sheets()
    s["Providers"].append(row("Providers", provider_id="P1", name="Dana Whitfield",
                              stage="referring"))
    s["Clients"].append(row("Clients", client_id="C1", first_name="Ann", last_name="Lee",
                            source="doctor", referred_by_provider="P1"))
    for day, (rid, measure, goal) in enumerate((
            ("R1", NDI, 10), ("R2", "  HEADACHE  days per week ", 1),
            ("R3", "minutes walked", 30), ("R4", None, None)), start=1):
        s["Referrals"].append(row("Referrals", referral_id=rid, received_on=D(2025, 3, day),
                                  provider_id="P1", client_id="C1", status="in care",
                                  measure=measure, goal=goal))
    s["Visits"] = [headers("Visits")]
    for i, (rid, before, after, score) in enumerate((
            ("R1", 10, 0, 100), ("R1", 7, 4, 0), ("R2", 6, 3, 7), ("R2", 5, 3, 0.5),
            ("R3", 4, 2, 240), ("R4", 3, 1, None), (None, 2, 2, None)), start=1):
        s["Visits"].append(visit(f"V{i}", rid, pain_before=before, pain_after=after,
                                 measure_score=score))
    return s


def visit(vid: str, referral: str | None, **values) -> list:
    day = D(2025, 3, 10) + dt.timedelta(days=int(vid[1:]))  # no two visits alike
    return row("Visits", visit_id=vid, client_id="C1", date=day, referral_id=referral, **values)


def found(tmp_path, s):
    return check_sheets(tmp_path / "w.xlsx", s, families=[cells, outcomes])


def test_ratings_and_scores_within_their_ranges_give_no_problem(tmp_path):
    assert found(tmp_path, base()) == []


def test_pain_outside_0_to_10_is_an_error_at_its_cell(tmp_path):
    s = base()
    s["Visits"] += [visit("V8", "R1", pain_before=11, pain_after=-1),
                    visit("V9", None, pain_before=12)]
    fix = "rate pain from 0 (no pain) to 10 (the worst imaginable) and retype it"
    # -1 is reported once, by its range: not also by the cell rules as a negative number.
    assert found(tmp_path, s) == [
        ("Visits!K9", "error", "pain-range", f"pain_before is outside 0-10; {fix}"),
        ("Visits!L9", "error", "pain-range", f"pain_after is outside 0-10; {fix}"),
        ("Visits!K10", "error", "pain-range", f"pain_before is outside 0-10; {fix}"),
    ]


def test_a_score_outside_its_referrals_measure_is_an_error(tmp_path):
    s = base()
    s["Visits"] += [visit("V8", "R1", measure_score=101),  # NDI: 0-100
                    visit("V9", "R2", measure_score=8),  # headache days per week: 0-7
                    visit("V10", "R2", measure_score=-0.5),
                    visit("V11", "R3", measure_score=-2),  # a measure not in the table
                    visit("V12", "R3", measure_score=5000)]
    assert found(tmp_path, s) == [
        ("Visits!M9", "error", "score-range", "measure_score is outside 0-100, the range of "
         "the measure referral R1 names in Referrals!J2; check the score, or the measure there"),
        ("Visits!M10", "error", "score-range", "measure_score is outside 0-7, the range of the "
         "measure referral R2 names in Referrals!J3; check the score, or the measure there"),
        ("Visits!M11", "error", "score-range", "measure_score is outside 0-7, the range of the "
         "measure referral R2 names in Referrals!J3; check the score, or the measure there"),
        ("Visits!M12", "error", "score-range", "measure_score is outside 0 or more, the range "
         "of the measure referral R3 names in Referrals!J4; check the score, or the measure "
         "there"),
    ]


def test_a_goal_outside_its_measure_is_an_error(tmp_path):
    s = base()
    for rid, measure, goal in (("R5", "HIT-6", 30), ("R6", "Patient-Specific Functional Scale",
                                                      10.5), ("R7", "my own", -1),
                               ("R8", None, 3)):
        s["Referrals"].append(row("Referrals", referral_id=rid, received_on=D(2025, 3, 1),
                                  provider_id="P1", client_id="C1", status="received",
                                  measure=measure, goal=goal))
    assert found(tmp_path, s) == [
        ("Referrals!K6", "error", "goal-range", "goal is outside 36-78, the range of the "
         "measure in Referrals!J6; type the score the plan aims for within it, or correct the "
         "measure"),
        ("Referrals!K7", "error", "goal-range", "goal is outside 0-10, the range of the "
         "measure in Referrals!J7; type the score the plan aims for within it, or correct the "
         "measure"),
        ("Referrals!K8", "error", "goal-range", "goal is outside 0 or more, the range of the "
         "measure in Referrals!J8; type the score the plan aims for within it, or correct the "
         "measure"),
        ("Referrals!K9", "warning", "goal-without-measure",
         "goal has no measure to aim at; name the measure in Referrals!J9"),
    ]


def test_a_score_with_no_measure_is_a_warning_to_name_it(tmp_path):
    s = base()
    s["Visits"] += [visit("V8", "R4", measure_score=3),
                    visit("V9", None, measure_score=3),
                    visit("V10", "R99", measure_score=3)]  # the links rules name R99
    assert found(tmp_path, s) == [
        ("Visits!M9", "warning", "score-without-measure", "measure_score has no measure to be "
         "read against: referral R4 names none; name the measure in Referrals.measure "
         "(Referrals!J5)"),
        ("Visits!M10", "warning", "score-without-measure", "measure_score has no measure to be "
         "read against: this visit has no referral_id; put its referral in referral_id and "
         "name the measure in Referrals.measure"),
    ]


def test_values_are_hidden_and_never_quoted(tmp_path):
    s = base()
    s["Referrals"].append(row("Referrals", referral_id="R5", received_on=D(2025, 3, 1),
                              provider_id="P1", client_id="C1", status="received",
                              measure=NDI, goal=777))
    s["Visits"] += [visit("V8", "R1", pain_before=13, measure_score=654),
                    visit("V9", "R4", measure_score=98.25)]
    book = ExcelSource(make_xlsx(tmp_path / "w.xlsx", s)).read()
    problems = [p for p in check_book(book, Context(TODAY))
                if p.column in ("goal", "pain_before", "measure_score")]
    assert len(problems) == 4
    for p in problems:
        assert p.value == HIDDEN
        assert not any(v in p.message for v in ("777", "13", "654", "98"))


def test_an_older_workbook_without_the_columns_gets_nothing_new(tmp_path):
    s = base()
    old = {"Referrals": ("measure", "goal"), "Visits": ("pain_before", "pain_after",
                                                         "measure_score")}
    for sheet, gone in old.items():
        keep = [i for i, h in enumerate(headers(sheet)) if h not in gone]
        s[sheet] = [[r[i] for i in keep] for r in s[sheet]]
    assert check_sheets(tmp_path / "w.xlsx", s) == []


def test_a_score_without_the_measure_column_says_to_add_it(tmp_path):
    s = base()
    keep = [i for i, h in enumerate(headers("Referrals")) if h not in ("measure", "goal")]
    s["Referrals"] = [[r[i] for i in keep] for r in s["Referrals"]]
    assert [p[:3] for p in found(tmp_path, s)] == [
        (f"Visits!M{n}", "warning", "score-without-measure") for n in (2, 3, 4, 5, 6)]
    assert found(tmp_path, s)[0][3].endswith(
        "name the measure in Referrals.measure (add a measure column to Referrals)")
