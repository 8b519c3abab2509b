"""The workbook's schema, declared once.

Every sheet refdesk knows, its columns, their kinds, which are required, the closed lists of
allowed values, the id column and the references between sheets. `init`, the reader, `check`,
the Google setup, template field lists and the README's sheet table all read this module;
nothing else spells a column name or an allowed value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What a column holds. The reader types DATE, DATETIME, INT, NUMBER and MONEY; the rest is
    text."""

    ID = "id"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    INT = "whole number"
    NUMBER = "number"
    MONEY = "money"
    CHOICE = "one of a list"
    CHOICES = "several of a list"
    LIST = "list"
    PHONE = "phone"
    EMAIL = "email"
    STATE = "state"
    ZIP = "zip"
    NPI = "NPI"
    ICD10 = "ICD-10-CM codes"
    CPT = "CPT code"


#: Separator of several values inside one cell.
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    hint: str = ""
    required: bool = False
    #: Allowed values of a closed list (CHOICE / CHOICES), in the order a drop-down shows them.
    choices: tuple[str, ...] = ()
    #: Suggested values for an open list: offered in the drop-down, others still accepted.
    suggestions: tuple[str, ...] = ()
    #: Name of the sheet whose id this column holds.
    ref: str | None = None
    #: Client health information: never printed in a message or a log.
    health: bool = False
    width: int = 14

    @property
    def closed(self) -> bool:
        return bool(self.choices)

    @property
    def multi(self) -> bool:
        """Several values separated by `;` in one cell."""
        return self.kind in (Kind.CHOICES, Kind.LIST, Kind.ICD10)


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    #: The id column, unique per row, or None for sheets whose rows are events without ids.
    key: str | None = None
    #: Sheets refdesk cannot work without; the others read as empty when absent.
    required: bool = False
    #: Written by refdesk itself (the ledger of documents).
    written_by_refdesk: bool = False
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def references(self) -> list[Column]:
        return [c for c in self.columns if c.ref]


def _id(name: str, what: str, *, required: bool = True) -> Column:
    return Column(name, Kind.ID, f"Unique id of this {what}, e.g. a short code. Kept as text.",
                  required=required, width=12)


def _ref(name: str, sheet: str, *, required: bool = False, hint: str = "") -> Column:
    return Column(name, Kind.ID, hint or f"An id from the {sheet} sheet.", required=required,
                  ref=sheet, width=12)


def _date(name: str, hint: str, *, required: bool = False) -> Column:
    return Column(name, Kind.DATE, hint, required=required, width=12)


def _address() -> tuple[Column, ...]:
    return (
        Column("street", hint="Street address.", width=24),
        Column("city", hint="City.", width=14),
        Column("state", Kind.STATE, "Two-letter US state, e.g. OR.", width=7),
        Column("zip", Kind.ZIP, "ZIP code: 5 digits or ZIP+4.", width=9),
    )


STAGES = ("prospect", "contacted", "packet sent", "referring", "dormant", "declined")
DELIVERY = ("mail", "email", "fax")
WANTS = ("SOAP notes", "progress reports", "discharge summary", "brochures", "business cards",
         "referral pads")
SOURCES = ("doctor", "client", "other")
RELEASE_SCOPE = ("treatment plan", "progress", "SOAP notes", "diagnosis")
REFERRAL_STATUS = ("received", "scheduled", "in care", "completed", "declined")
LETTER_STATUS = ("produced", "sending", "emailed", "drafted", "faxed", "failed")
CREDENTIALS = ("MD", "DO", "DC", "PT", "DPT", "DDS", "DMD", "NP", "PA", "PhD", "PsyD", "LCSW",
               "LMFT", "LPC", "ND", "OT", "RN")
SPECIALTIES = ("primary care", "family medicine", "internal medicine", "chiropractic",
               "physical therapy", "orthopedics", "pain management", "neurology", "OB/GYN",
               "dentistry", "psychotherapy", "sports medicine", "rheumatology", "oncology",
               "naturopathy", "acupuncture")
SERVICES = ("Swedish massage", "deep tissue", "myofascial release", "trigger point therapy",
            "neuromuscular therapy", "lymphatic drainage", "craniosacral therapy",
            "prenatal massage", "sports massage", "therapeutic exercise")
CHANNELS = ("phone", "email", "letter", "fax", "visit", "other")
PAYMENT_METHODS = ("cash", "check", "card", "insurance", "HSA/FSA", "other")
YES_NO = ("yes", "no", "unknown")
REFERS_OUT = ("often", "sometimes", "rarely", "never", "unknown")
HOW_WE_KNOW = ("client's doctor", "nearby", "other")
#: Outcome measures a plan of care commonly tracks, offered in the drop-down; others accepted.
#: The range each allows is in MEASURE_RANGES; a measure not listed there may not be negative.
MEASURES = ("headache days per week", "Neck Disability Index %", "Oswestry Disability Index %",
            "Patient-Specific Functional Scale", "pain 0-10", "HIT-6")
MEASURE_RANGES: dict[str, tuple[float, float]] = {
    "headache days per week": (0, 7), "neck disability index %": (0, 100),
    "oswestry disability index %": (0, 100), "patient-specific functional scale": (0, 10),
    "pain 0-10": (0, 10), "hit-6": (36, 78)}
#: The range of a pain rating (numeric rating scale).
PAIN_RANGE = (0, 10)


PROVIDERS = Sheet(
    "Providers",
    "Every health-care provider you work with or would like to: doctors, dentists, "
    "chiropractors, therapists. One row each, with where the relationship stands.",
    (
        _id("provider_id", "provider"),
        Column("name", hint="Full name, e.g. Dana Whitfield.", required=True, width=22),
        Column("credentials", hint="e.g. MD, DO, DC, PT, DDS, NP, PA, PhD, LCSW.",
               suggestions=CREDENTIALS, width=11),
        Column("specialty", hint="e.g. primary care, neurology, chiropractic.",
               suggestions=SPECIALTIES, width=16),
        Column("practice", hint="Name of the clinic or practice.", width=24),
        Column("npi", Kind.NPI, "10-digit National Provider Identifier.", width=12),
        Column("phone", Kind.PHONE, "Office phone, e.g. (503) 555-0142.", width=15),
        Column("fax", Kind.PHONE, "Office fax number.", width=15),
        Column("email", Kind.EMAIL, "Email address for letters and reports.", width=24),
        *_address(),
        Column("staff_contact", hint="Front-desk staff and office manager by name.", width=22),
        Column("stage", Kind.CHOICE, "Where the relationship stands.", required=True,
               choices=STAGES, width=12),
        Column("delivery", Kind.CHOICE, "How they want documents: mail, email or fax.",
               choices=DELIVERY, width=9),
        Column("wants", Kind.CHOICES, "Documents they want, separated by ; e.g. "
               "SOAP notes; progress reports.", choices=WANTS, width=24),
        Column("accepting_patients", Kind.CHOICE, "Are they taking new patients?",
               choices=YES_NO, width=10),
        Column("refers_out", Kind.CHOICE, "How often they refer out for massage.",
               choices=REFERS_OUT, width=10),
        Column("how_we_know", Kind.CHOICE, "How you came to know them.", choices=HOW_WE_KNOW,
               width=14),
        _date("next_follow_up", "When to contact them next."),
        Column("notes", hint="Anything else worth remembering.", width=30),
    ),
    key="provider_id",
    required=True,
)

CLIENTS = Sheet(
    "Clients",
    "Your clients, with the answer to \"who referred you?\" and the provider who did.",
    (
        _id("client_id", "client"),
        Column("first_name", hint="First name.", required=True, width=12),
        Column("last_name", hint="Last name.", required=True, width=14),
        _date("dob", "Date of birth."),
        Column("phone", Kind.PHONE, "Phone, e.g. (503) 555-0142.", width=15),
        Column("email", Kind.EMAIL, "Email address.", width=24),
        *_address(),
        Column("source", Kind.CHOICE, "Who referred them: doctor, client or other.",
               required=True, choices=SOURCES, width=9),
        Column("source_detail", hint="How they heard of you, in their words.", width=20),
        _ref("referred_by_provider", "Providers",
             hint="provider_id of the referring provider when source is doctor."),
        _ref("referred_by_client", "Clients",
             hint="client_id of the referring client when source is client."),
        Column("focus", hint="The condition you are treating.", health=True, width=18),
        Column("diagnosis", Kind.ICD10, "ICD-10-CM codes of the client's own diagnosis, for "
               "super bills of visits with no referral, e.g. M54.2.", health=True, width=14),
        _date("first_visit", "Date of the first session."),
        Column("insurance_carrier", hint="Insurance company, if any.", width=16),
        Column("member_id", hint="Insurance member id. Kept as text.", width=14),
        Column("client_card", Kind.CHOICE, "Agreed to write a thank-you card to the doctor who "
               "referred them: yes, no or unknown.", choices=YES_NO, width=10),
        _date("card_sent", "Date you mailed the client's card to their doctor."),
        Column("notes", hint="Anything else.", health=True, width=30),
    ),
    key="client_id",
    required=True,
)

RELEASES = Sheet(
    "Releases",
    "Signed client release forms: which provider you may talk to about which client, "
    "and about what.",
    (
        _id("release_id", "release"),
        _ref("client_id", "Clients", required=True),
        _ref("provider_id", "Providers", required=True),
        _date("signed_on", "Date the client signed.", required=True),
        _date("expires_on", "Date the release ends, if it does."),
        Column("scope", Kind.CHOICES, "What may be discussed, separated by ; e.g. "
               "treatment plan; progress.", required=True, choices=RELEASE_SCOPE, width=26),
        _date("revoked_on", "Date the client withdrew it, if they did."),
    ),
    key="release_id",
)

REFERRALS = Sheet(
    "Referrals",
    "Referrals you receive: the provider's \"prescription\" for massage therapy.",
    (
        _id("referral_id", "referral"),
        _date("received_on", "Date the referral arrived.", required=True),
        _ref("provider_id", "Providers", required=True),
        _ref("client_id", "Clients", required=True),
        Column("diagnosis", Kind.ICD10, "ICD-10-CM codes separated by ; e.g. G43.909; M54.2.",
               health=True, width=16),
        Column("services", Kind.LIST, "Requested modalities separated by ;.",
               suggestions=SERVICES, width=22),
        Column("per_week", Kind.INT, "Visits per week.", width=9),
        Column("weeks", Kind.INT, "For how many weeks.", width=7),
        Column("visits_authorized", Kind.INT, "Total visits authorized.", width=9),
        Column("measure", hint="The functional measure tracked, e.g. Neck Disability Index %.",
               suggestions=MEASURES, width=20),
        Column("goal", Kind.NUMBER, "The score the plan aims for on that measure, e.g. 1 "
               "(headache days per week) or 10 (%).", health=True, width=7),
        Column("status", Kind.CHOICE, "Where the referral stands.", required=True,
               choices=REFERRAL_STATUS, width=11),
        _date("first_visit", "Date of the first session."),
        _date("thank_you_sent", "Date you thanked the provider."),
        _date("last_report_sent", "Date of the last progress report to the provider."),
        Column("notes", hint="Anything else.", health=True, width=30),
    ),
    key="referral_id",
    required=True,
)

SENT = Sheet(
    "Sent",
    "Clients you sent to a provider: the other half of a referral relationship.",
    (
        Column("sent_id", Kind.ID, "Optional id of this row; refdesk fills it in when it adds a "
               "row.", width=10),
        _date("sent_on", "Date you sent the client.", required=True),
        _ref("client_id", "Clients", required=True),
        _ref("provider_id", "Providers", required=True),
        Column("reason", hint="Why, in a few words.", width=24),
        _date("provider_told_on", "Date you let the provider know."),
    ),
    key="sent_id",
)

CONTACTS = Sheet(
    "Contacts",
    "Every call, email, letter and visit with a provider's office.",
    (
        Column("contact_id", Kind.ID, "Optional id of this row; refdesk fills it in when it adds "
               "a row.", width=10),
        _date("date", "Date of the contact.", required=True),
        _ref("provider_id", "Providers", required=True),
        Column("channel", Kind.CHOICE, "phone, email, letter, fax, visit or other.",
               choices=CHANNELS, width=9),
        Column("spoke_with", hint="Whom you spoke with.", width=16),
        Column("summary", hint="What was said or sent.", width=30),
        Column("next_step", hint="What happens next.", width=22),
        _date("follow_up_on", "When to follow up."),
        Column("cost", Kind.MONEY, "What it cost besides your time: a lunch, printing, "
               "postage, e.g. 45.00.", width=9),
        Column("minutes", Kind.INT, "Your time it took, in minutes; costed at [program] "
               "hourly_rate in config.toml.", width=8),
    ),
    key="contact_id",
)

VISITS = Sheet(
    "Visits",
    "Sessions, for super bills and progress reports.",
    (
        _id("visit_id", "visit"),
        _ref("client_id", "Clients", required=True),
        _date("date", "Date of the session.", required=True),
        _ref("referral_id", "Referrals", hint="The referral this visit belongs to, if any."),
        Column("cpt", Kind.CPT, "CPT code, e.g. 97124, 97140, 97112.", width=8),
        Column("units", Kind.INT, "Billing units (15 minutes each).", width=7),
        Column("minutes", Kind.INT, "Length of the session in minutes.", width=8),
        Column("fee", Kind.MONEY, "Fee charged, e.g. 95.00.", width=9),
        Column("paid", Kind.MONEY, "Amount paid.", width=9),
        Column("payment_method", Kind.CHOICE, "How it was paid.", choices=PAYMENT_METHODS,
               width=12),
        Column("pain_before", Kind.INT, "Pain 0-10 at the start of the session.", health=True,
               width=8),
        Column("pain_after", Kind.INT, "Pain 0-10 at the end of the session.", health=True,
               width=8),
        Column("measure_score", Kind.NUMBER, "Score on the referral's measure this visit, e.g. "
               "3 (headache days last week) or 24 (%).", health=True, width=9),
        Column("subjective", hint="S: what the client reports, in a sentence.", health=True,
               width=30),
        Column("objective", hint="O: what you found, e.g. range of motion, trigger points.",
               health=True, width=30),
        Column("assessment", hint="A: how they respond, progress toward the goal.", health=True,
               width=30),
        Column("plan", hint="P: what comes next, e.g. frequency, home care.", health=True,
               width=30),
        Column("notes", hint="Anything else.", health=True, width=30),
    ),
    key="visit_id",
)

TESTIMONIALS = Sheet(
    "Testimonials",
    "Client quotes for your introductory letters; only those with permission are used.",
    (
        _id("testimonial_id", "testimonial"),
        _ref("client_id", "Clients"),
        Column("quote", hint="The client's words, as they gave them.", required=True, width=50),
        Column("condition", Kind.LIST, "The conditions the quote speaks to, separated by ; e.g. "
               "migraine; neck pain. Packets pick quotes that fit the provider.", health=True,
               width=22),
        _date("permission_on", "Date the client allowed you to use the quote."),
    ),
    key="testimonial_id",
)

LETTERS = Sheet(
    "Letters",
    "Every document refdesk produced, written by refdesk: your ledger of what went to whom.",
    (
        _id("letter_id", "document"),
        Column("when", Kind.DATETIME, "When the document was produced.", required=True,
               width=17),
        Column("job", hint="The merge job that made it.", required=True, width=16),
        Column("record", hint="The row it was made from: a provider, referral, client or "
               "sent id, or a client and month (C001 2026-10).", width=14),
        Column("template", hint="The template file used.", width=22),
        _ref("provider_id", "Providers"),
        _ref("client_id", "Clients"),
        _ref("release_id", "Releases", hint="The release that allowed sending client details."),
        Column("delivery", Kind.CHOICE, "mail, email or fax.", choices=DELIVERY, width=9),
        Column("file", hint="Where the document was saved.", width=30),
        Column("status", Kind.CHOICE, "What happened to it.", required=True,
               choices=LETTER_STATUS, width=10),
        Column("detail", hint="Why a delivery failed, or other detail.", width=30),
    ),
    key="letter_id",
    written_by_refdesk=True,
)

#: Every sheet, in the order a workbook shows them.
SHEETS: tuple[Sheet, ...] = (PROVIDERS, CLIENTS, RELEASES, REFERRALS, SENT, CONTACTS, VISITS,
                             TESTIMONIALS, LETTERS)
SHEETS_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}


def sheet(name: str) -> Sheet:
    return SHEETS_BY_NAME[name]


def _validate() -> None:
    """The declaration is data; catch a mistake in it at import rather than in a user's run."""
    for s in SHEETS:
        names = s.column_names
        assert len(names) == len(set(names)), f"duplicate column in {s.name}"
        if s.key:
            assert s.key in s, f"{s.name}: key {s.key} is not a column"
        for c in s.columns:
            assert c.ref is None or c.ref in SHEETS_BY_NAME, f"{s.name}.{c.name}: bad ref"
            assert bool(c.choices) == (c.kind in (Kind.CHOICE, Kind.CHOICES)), c.name
            for v in c.choices:
                assert "," not in v and LIST_SEPARATOR not in v, v


_validate()
