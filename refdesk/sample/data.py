"""Fixed facts behind the sample practice: the local provider directory, names, streets, codes.

Everything here is invented except the places (real Portland-area streets, cities and ZIP codes)
and the clinical codes (real, billable ICD-10-CM codes of the 2026 code set; real CPT codes).
Phone numbers use the 555-0100..0199 range that the North American numbering plan keeps for
fiction, and every email domain ends in .example or is an example.com/net/org address.
"""

from __future__ import annotations

from typing import NamedTuple


class Practice(NamedTuple):
    name: str
    street: str
    city: str
    zip: str
    domain: str
    staff: str


class Doctor(NamedTuple):
    name: str
    credentials: str
    specialty: str
    practice: str
    stage: str
    how_we_know: str
    notes: str = ""


PRACTICES: dict[str, Practice] = {p.name: p for p in (
    Practice("Hawthorne Family Medicine", "3510 SE Hawthorne Blvd", "Portland", "97214",
             "hawthornefamilymed.example",
             "Front desk: Marisol Ortega; office manager: Tina Albright"),
    Practice("Willamette Headache & Neurology", "2801 N Gantenbein Ave, Suite 410", "Portland",
             "97227", "willametteheadache.example", "Referral coordinator: Deshawn Price"),
    Practice("Northwest Neurology Partners", "1040 NW 22nd Ave, Suite 520", "Portland", "97210",
             "nwneuropartners.example", "Front desk: Allie Brooks; office manager: Ken Sato"),
    Practice("Division Street Chiropractic", "3306 SE Division St", "Portland", "97202",
             "divisionchiro.example", "Front desk: Jolene Parks"),
    Practice("Eastside Physical Therapy", "2225 NE Broadway", "Portland", "97232",
             "eastsidept.example", "Scheduling: Rosa Medina; clinic manager: Paul Kimura"),
    Practice("Burnside TMJ & Dental", "2340 E Burnside St", "Portland", "97214",
             "burnsidetmj.example", "Front desk: Hailey Dunn; office manager: Carla Reyes"),
    Practice("Cascade Pain Management", "9155 SW Barnes Rd, Suite 300", "Portland", "97225",
             "cascadepain.example", "Referral coordinator: Megan Holt"),
    Practice("St. Johns Community Clinic", "8410 N Lombard St", "Portland", "97203",
             "stjohnsclinic.example", "Front desk: Luis Ibarra; clinic manager: Ann Whitcomb"),
    Practice("Sellwood Spine & Wellness", "7915 SE 13th Ave", "Portland", "97202",
             "sellwoodspine.example", "Front desk: Brianna Cole"),
    Practice("Alberta Women's Health", "1531 NE Alberta St", "Portland", "97211",
             "albertawomenshealth.example", "Nurse: Kim Tran; office manager: Gloria Banks"),
    Practice("Mount Tabor Counseling", "6000 SE Belmont St", "Portland", "97215",
             "taborcounseling.example", "Intake: Sam Reilly"),
    Practice("Laurelhurst Internal Medicine", "3925 NE Glisan St", "Portland", "97232",
             "laurelhurstim.example", "Front desk: Dana Fox; office manager: Irene Molina"),
    Practice("Lake Oswego Sports Medicine", "15 Centerpointe Dr, Suite 200", "Lake Oswego",
             "97035", "losportsmed.example", "Front desk: Tyler Grant"),
    Practice("Beaverton Orofacial Pain Clinic", "12725 SW Millikan Way", "Beaverton", "97005",
             "beavertonorofacial.example", "Front desk: Nicole Hart"),
    Practice("Multnomah Village Physical Therapy", "7780 SW Capitol Hwy", "Portland", "97219",
             "mvillagept.example", "Front desk: Owen Lacey"),
    Practice("Clackamas Neurology", "10180 SE Sunnyside Rd, Suite 250", "Clackamas", "97015",
             "clackamasneuro.example", "Referral coordinator: Patty Nguyen"),
    Practice("Woodstock Naturopathic Clinic", "4410 SE Woodstock Blvd", "Portland", "97206",
             "woodstocknd.example", "Front desk: Iris Calloway"),
    Practice("Tigard Family Practice", "11855 SW Greenburg Rd", "Tigard", "97223",
             "tigardfamilypractice.example", "Front desk: Renee Olsen; office manager: Jim Barr"),
    Practice("Pearl District Physical Therapy", "1130 NW Everett St", "Portland", "97209",
             "pearlpt.example", "Front desk: Kayla Moss"),
    Practice("Hillsdale Psychology Group", "6316 SW Capitol Hwy", "Portland", "97239",
             "hillsdalepsych.example", "Intake coordinator: Beth Ramos"),
    Practice("Montavilla Chiropractic", "7920 SE Stark St", "Portland", "97215",
             "montavillachiro.example", "Front desk: Andre Wills"),
    Practice("Tualatin Valley Pain & Spine", "9900 SW Greenburg Rd, Suite 200", "Tigard",
             "97223", "tvpainspine.example", "Referral coordinator: Stacy Lund"),
    Practice("Happy Valley Women's Clinic", "16100 SE Happy Valley Town Center Dr",
             "Happy Valley", "97086", "hvwomensclinic.example", "Front desk: Leah Simmons"),
    Practice("West Hills Internal Medicine", "2222 NW Lovejoy St, Suite 400", "Portland", "97210",
             "westhillsim.example", "Front desk: Carmen Diaz; office manager: Ruth Epps"),
    Practice("Gresham Chiropractic Center", "345 NE 8th St", "Gresham", "97030",
             "greshamchiro.example", "Front desk: Mia Kerr"),
    Practice("Kenton Family Health", "2035 N Denver Ave", "Portland", "97217",
             "kentonfamilyhealth.example", "Front desk: Ray Patel"),
    Practice("Fremont Dental Arts", "4216 NE Fremont St", "Portland", "97213",
             "fremontdental.example", "Office manager: Sue Whalen"),
    Practice("Lloyd District Orthopedics", "1001 NE Multnomah St, Suite 600", "Portland",
             "97232", "lloydortho.example", "Referral coordinator: Dwayne Kirby"),
    Practice("Hillsboro Family Medicine", "335 SE 8th Ave", "Hillsboro", "97123",
             "hillsborofm.example", ""),
    Practice("Milwaukie Physical Therapy & Rehab", "10600 SE McLoughlin Blvd", "Milwaukie",
             "97222", "milwaukiept.example", ""),
    Practice("Kerns Community Acupuncture", "2818 NE Sandy Blvd", "Portland", "97232",
             "kernsacupuncture.example", ""),
    Practice("Eastside Rheumatology", "5050 NE Hoyt St, Suite 310", "Portland", "97213",
             "eastsiderheum.example", ""),
    Practice("Sellwood Family Therapy", "1620 SE Bybee Blvd", "Portland", "97202",
             "sellwoodtherapy.example", ""),
    Practice("Gresham Station Family Medicine", "1150 NW Civic Dr", "Gresham", "97030",
             "greshamstationfm.example", "Front desk: Elise Monroe"),
    Practice("Raleigh Hills Dental", "4720 SW Scholls Ferry Rd", "Portland", "97225",
             "raleighhillsdental.example", "Office manager: Gail Porter"),
)}

#: The provider directory, in provider_id order (P001 first).
DOCTORS: tuple[Doctor, ...] = (
    # Referring: the heart of the program.
    Doctor("Elena Marquez", "MD", "family medicine", "Hawthorne Family Medicine", "referring",
           "client's doctor", "First doctor to refer; likes a short note after the first visit."),
    Doctor("David Okafor", "DO", "primary care", "Hawthorne Family Medicine", "referring",
           "client's doctor"),
    Doctor("Rachel Stein", "MD", "neurology", "Willamette Headache & Neurology", "referring",
           "client's doctor", "Headache clinic; sends chronic migraine patients."),
    Doctor("Priya Raman", "MD", "neurology", "Northwest Neurology Partners", "referring",
           "client's doctor"),
    Doctor("Marcus Bell", "DC", "chiropractic", "Division Street Chiropractic", "referring",
           "nearby", "Two blocks east; we send each other patients."),
    Doctor("Hannah Kowalski", "DPT", "physical therapy", "Eastside Physical Therapy",
           "referring", "client's doctor"),
    Doctor("Samuel Nguyen", "DMD", "dentistry", "Burnside TMJ & Dental", "referring", "nearby",
           "TMJ patients; wants the jaw findings in the report."),
    Doctor("Laura Chen", "MD", "pain management", "Cascade Pain Management", "referring",
           "client's doctor"),
    Doctor("Jenna Whitaker", "NP", "primary care", "St. Johns Community Clinic", "referring",
           "client's doctor"),
    Doctor("Thomas Greer", "DC", "chiropractic", "Sellwood Spine & Wellness", "referring",
           "nearby"),
    Doctor("Aisha Rahman", "MD", "OB/GYN", "Alberta Women's Health", "referring",
           "client's doctor", "Prenatal clients; second and third trimester only."),
    Doctor("Kevin Morrow", "PhD", "psychotherapy", "Mount Tabor Counseling", "referring",
           "other", "Met at the Division St. wellness fair."),
    Doctor("Sofia Alvarez", "PA", "internal medicine", "Laurelhurst Internal Medicine",
           "referring", "client's doctor"),
    Doctor("Brian Tanaka", "MD", "sports medicine", "Lake Oswego Sports Medicine", "referring",
           "client's doctor"),
    # Dormant: referred in 2025, quiet since.
    Doctor("Gregory Hale", "MD", "internal medicine", "Laurelhurst Internal Medicine", "dormant",
           "client's doctor", "Cut back to three days a week."),
    Doctor("Naomi Feld", "DDS", "dentistry", "Beaverton Orofacial Pain Clinic", "dormant",
           "client's doctor"),
    Doctor("Patrick Doyle", "PT", "physical therapy", "Multnomah Village Physical Therapy",
           "dormant", "client's doctor", "Clinic hired its own massage therapist in 2025."),
    Doctor("Lisa Yamamoto", "MD", "neurology", "Clackamas Neurology", "dormant",
           "client's doctor"),
    Doctor("Ruth Abernathy", "ND", "naturopathy", "Woodstock Naturopathic Clinic", "dormant",
           "nearby"),
    # Packet sent, waiting on the Provider's Needs form.
    Doctor("Daniel Pryor", "MD", "family medicine", "Tigard Family Practice", "packet sent",
           "client's doctor"),
    Doctor("Mei-Ling Wu", "DPT", "physical therapy", "Pearl District Physical Therapy",
           "packet sent", "other"),
    Doctor("Jordan Ellis", "LCSW", "psychotherapy", "Hillsdale Psychology Group", "packet sent",
           "client's doctor"),
    Doctor("Carmen Ortiz", "DC", "chiropractic", "Montavilla Chiropractic", "packet sent",
           "nearby"),
    Doctor("Victor Hsu", "MD", "pain management", "Tualatin Valley Pain & Spine", "packet sent",
           "client's doctor"),
    Doctor("Beth Lindgren", "MD", "OB/GYN", "Happy Valley Women's Clinic", "packet sent",
           "client's doctor"),
    # Contacted: a first call made.
    Doctor("Omar Haddad", "MD", "internal medicine", "West Hills Internal Medicine", "contacted",
           "client's doctor"),
    Doctor("Karen Voss", "PsyD", "psychotherapy", "Hillsdale Psychology Group", "contacted",
           "client's doctor"),
    Doctor("Ian McAllister", "DC", "chiropractic", "Gresham Chiropractic Center", "contacted",
           "other"),
    Doctor("Teresa Lum", "NP", "family medicine", "Kenton Family Health", "contacted",
           "client's doctor"),
    Doctor("Anjali Mehta", "DDS", "dentistry", "Fremont Dental Arts", "contacted", "nearby"),
    Doctor("Robert Finch", "MD", "orthopedics", "Lloyd District Orthopedics", "contacted",
           "client's doctor"),
    # Prospects: names to call.
    Doctor("Grace Oduya", "MD", "family medicine", "Hillsboro Family Medicine", "prospect",
           "other"),
    Doctor("Erik Sandoval", "PT", "physical therapy", "Milwaukie Physical Therapy & Rehab",
           "prospect", "other"),
    Doctor("Julia Brandt", "LAc", "acupuncture", "Kerns Community Acupuncture", "prospect",
           "nearby"),
    Doctor("Nathan Cole", "MD", "rheumatology", "Eastside Rheumatology", "prospect", "other",
           "Fibromyalgia patients; ask about their referral list."),
    Doctor("Fiona Gallagher", "LMFT", "psychotherapy", "Sellwood Family Therapy", "prospect",
           "nearby"),
    # Declined.
    Doctor("Steven Park", "MD", "neurology", "Northwest Neurology Partners", "declined",
           "other", "Refers only to the hospital's own PT department."),
    Doctor("Diane Mercer", "DO", "family medicine", "Gresham Station Family Medicine",
           "declined", "client's doctor", "Does not refer out for massage."),
    Doctor("Howard Lin", "DDS", "dentistry", "Raleigh Hills Dental", "declined", "nearby"),
)

#: Real, billable ICD-10-CM codes (2026 code set) the sample uses, with their titles.
ICD10_CODES: dict[str, str] = {
    "F41.1": "Generalized anxiety disorder",
    "G43.009": "Migraine without aura, not intractable, without status migrainosus",
    "G43.109": "Migraine with aura, not intractable, without status migrainosus",
    "G43.709": "Chronic migraine without aura, not intractable, without status migrainosus",
    "G43.719": "Chronic migraine without aura, intractable, without status migrainosus",
    "G43.909": "Migraine, unspecified, not intractable, without status migrainosus",
    "G44.209": "Tension-type headache, unspecified, not intractable",
    "G44.219": "Episodic tension-type headache, not intractable",
    "G44.229": "Chronic tension-type headache, not intractable",
    "G44.309": "Post-traumatic headache, unspecified, not intractable",
    "G44.86": "Cervicogenic headache",
    "G89.29": "Other chronic pain",
    "M25.511": "Pain in right shoulder",
    "M26.609": "Unspecified temporomandibular joint disorder, unspecified side",
    "M26.621": "Arthralgia of right temporomandibular joint",
    "M26.623": "Arthralgia of bilateral temporomandibular joint",
    "M43.6": "Torticollis",
    "M53.0": "Cervicocranial syndrome",
    "M54.12": "Radiculopathy, cervical region",
    "M54.2": "Cervicalgia",
    "M54.50": "Low back pain, unspecified",
    "M54.6": "Pain in thoracic spine",
    "M62.830": "Muscle spasm of back",
    "M62.838": "Other muscle spasm",
    "M79.18": "Myalgia, other site",
    "M79.7": "Fibromyalgia",
    "M99.01": "Segmental and somatic dysfunction of cervical region",
    "O26.893": "Other specified pregnancy related conditions, third trimester",
    "R51.9": "Headache, unspecified",
    "S13.4XXA": "Sprain of ligaments of cervical spine, initial encounter",
    "S13.4XXD": "Sprain of ligaments of cervical spine, subsequent encounter",
    "S16.1XXA": "Strain of muscle, fascia and tendon at neck level, initial encounter",
    "S16.1XXD": "Strain of muscle, fascia and tendon at neck level, subsequent encounter",
    "Z33.1": "Pregnant state, incidental",
}

#: What each kind of provider writes on a referral: (diagnosis codes, focus, services).
DIAGNOSES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "primary": (
        ("G44.209", "tension-type headache", "trigger point therapy; Swedish massage"),
        ("G43.909", "migraine", "craniosacral therapy; Swedish massage"),
        ("M54.2", "neck pain", "myofascial release; trigger point therapy"),
        ("G44.229; M62.838", "tension-type headache", "neuromuscular therapy"),
        ("R51.9; M54.2", "headache", "trigger point therapy; deep tissue"),
        ("G44.219", "tension-type headache", "Swedish massage"),
        ("M54.6; M62.830", "upper-back and shoulder tension", "deep tissue; myofascial release"),
        ("M79.18", "chronic muscle pain", "myofascial release"),
    ),
    "neurology": (
        ("G43.709", "chronic migraine", "craniosacral therapy; trigger point therapy"),
        ("G43.909", "migraine", "neuromuscular therapy; craniosacral therapy"),
        ("G43.009", "migraine", "craniosacral therapy; Swedish massage"),
        ("G43.109", "migraine", "craniosacral therapy"),
        ("G43.719; M54.2", "chronic migraine", "trigger point therapy; neuromuscular therapy"),
        ("G44.229", "tension-type headache", "trigger point therapy; myofascial release"),
        ("G44.309; M54.2", "post-traumatic headache", "craniosacral therapy; myofascial release"),
        ("G44.86", "cervicogenic headache", "neuromuscular therapy; myofascial release"),
    ),
    "chiropractic": (
        ("S13.4XXA; M54.2", "whiplash", "myofascial release; neuromuscular therapy"),
        ("M99.01; M54.2", "neck pain", "trigger point therapy; deep tissue"),
        ("G44.86; M99.01", "cervicogenic headache", "neuromuscular therapy"),
        ("M62.830", "upper-back and shoulder tension", "deep tissue; trigger point therapy"),
        ("M53.0", "neck pain", "myofascial release"),
        ("S13.4XXD; G44.309", "whiplash", "myofascial release; craniosacral therapy"),
    ),
    "physical therapy": (
        ("M54.2; M62.838", "neck pain", "myofascial release; therapeutic exercise"),
        ("M53.0", "neck pain", "neuromuscular therapy; therapeutic exercise"),
        ("S13.4XXD", "whiplash", "myofascial release; therapeutic exercise"),
        ("M43.6", "neck pain", "myofascial release"),
        ("M54.12", "neck pain", "neuromuscular therapy"),
        ("G44.86", "cervicogenic headache", "trigger point therapy; therapeutic exercise"),
    ),
    "dentistry": (
        ("M26.609", "jaw pain (TMJ)", "myofascial release; trigger point therapy"),
        ("M26.623", "jaw pain (TMJ)", "myofascial release"),
        ("M26.621; G44.209", "jaw pain (TMJ)", "trigger point therapy; craniosacral therapy"),
        ("M26.609; M79.18", "jaw pain (TMJ)", "myofascial release; neuromuscular therapy"),
    ),
    "pain management": (
        ("G89.29; M54.2", "chronic neck pain", "myofascial release; deep tissue"),
        ("M79.7", "fibromyalgia", "Swedish massage; myofascial release"),
        ("G43.719", "chronic migraine", "trigger point therapy; craniosacral therapy"),
        ("M79.18", "chronic muscle pain", "trigger point therapy"),
        ("M54.12; G89.29", "chronic neck pain", "neuromuscular therapy"),
    ),
    "OB/GYN": (
        ("Z33.1; G43.909", "prenatal migraine", "prenatal massage"),
        ("Z33.1; M54.50", "prenatal back pain", "prenatal massage"),
        ("Z33.1; R51.9", "prenatal headache", "prenatal massage; craniosacral therapy"),
        ("O26.893; M54.6", "prenatal back pain", "prenatal massage"),
    ),
    "psychotherapy": (
        ("F41.1; G44.229", "stress and tension headache", "Swedish massage; craniosacral therapy"),
        ("F41.1", "stress and tension headache", "Swedish massage"),
    ),
    "sports medicine": (
        ("S16.1XXA", "neck strain", "sports massage; myofascial release"),
        ("M54.2; M62.838", "neck pain", "sports massage; trigger point therapy"),
        ("M25.511", "shoulder pain", "sports massage; deep tissue"),
    ),
    "naturopathy": (
        ("G43.909", "migraine", "craniosacral therapy; Swedish massage"),
        ("R51.9", "headache", "Swedish massage"),
        ("M79.7", "fibromyalgia", "Swedish massage; lymphatic drainage"),
    ),
}

#: Specialties that write the same kind of referral.
SPECIALTY_GROUP = {"family medicine": "primary", "primary care": "primary",
                   "internal medicine": "primary"}

#: A client's own diagnosis by their focus, for super bills of visits outside a referral:
#: a later encounter of an injury is coded as such (XXD).
FOCUS_CODES: dict[str, str] = {
    "tension-type headache": "G44.209", "migraine": "G43.909", "headache": "R51.9",
    "stress and tension headache": "G44.209", "chronic migraine": "G43.709",
    "post-traumatic headache": "G44.309", "cervicogenic headache": "G44.86",
    "prenatal migraine": "G43.909", "prenatal headache": "R51.9",
    "neck pain": "M54.2", "neck and shoulder tension": "M54.2; M62.838",
    "chronic neck pain": "M54.2; G89.29", "whiplash": "S13.4XXD", "neck strain": "S16.1XXD",
    "upper-back and shoulder tension": "M54.6; M62.830", "shoulder pain": "M25.511",
    "low back pain": "M54.50", "prenatal back pain": "M54.50", "jaw pain (TMJ)": "M26.609",
    "chronic muscle pain": "M79.18", "fibromyalgia": "M79.7",
}

#: Focus of clients who came without a referral.
SELF_FOCUS = ("tension-type headache", "migraine", "neck and shoulder tension", "jaw pain (TMJ)",
              "upper-back and shoulder tension", "stress and tension headache", "neck pain",
              "low back pain")

FIRST_NAMES = (
    "Abigail", "Adrian", "Aiden", "Alana", "Alejandra", "Alex", "Amara", "Amir", "Ana", "Andrea",
    "Annie", "Ari", "Ava", "Ben", "Bianca", "Brooke", "Caleb", "Camila", "Carlos", "Cassie",
    "Chloe", "Chris", "Claire", "Colin", "Dana", "Daniela", "Darius", "Deepa", "Derek", "Elise",
    "Eli", "Emily", "Emma", "Ethan", "Evan", "Farah", "Finn", "Gabriel", "Gemma", "Hana", "Harper",
    "Hector", "Helen", "Hugo", "Imani", "Ines", "Isaac", "Ivy", "Jack", "Jade", "Jamal", "Janet",
    "Jasmine", "Javier", "Jenny", "Jesse", "Joanna", "Jonah", "Julian", "Kai", "Kara", "Keiko",
    "Kendra", "Kim", "Lana", "Leah", "Leo", "Lila", "Liam", "Lucia", "Luke", "Maddie", "Malik",
    "Marco", "Margaret", "Maria", "Marisa", "Martin", "Megan", "Mia", "Miguel", "Mina",
    "Molly", "Nadia", "Naomi", "Nate", "Nina", "Noah", "Nora", "Olivia", "Omar", "Paige", "Pedro",
    "Petra", "Quinn", "Rafael", "Rebecca", "Riley", "Rosa", "Ryan", "Sadie", "Sam", "Sara",
    "Sean", "Selena", "Simone", "Sophie", "Stella", "Tariq", "Tess", "Theo", "Tomas", "Trevor",
    "Uma", "Valerie", "Vanessa", "Wes", "Willow", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES = (
    "Abbott", "Acosta", "Adeyemi", "Anderson", "Arnold", "Baker", "Banerjee", "Barnes", "Becker",
    "Bishop", "Brennan", "Burke", "Calderon", "Campbell", "Carlson", "Castillo", "Chang",
    "Chavez", "Cho", "Collins", "Cooper", "Cruz", "Dalton", "Das", "Delgado", "Dixon", "Duarte",
    "Edwards", "Engstrom", "Erikson", "Farrell", "Fischer", "Flores", "Foster", "Fujimoto",
    "Garcia", "Gill", "Gonzalez", "Gordon", "Graves", "Gupta", "Hammond", "Hansen", "Harper",
    "Hayes", "Hernandez", "Hoang", "Holland", "Hughes", "Ito", "Jensen", "Johansson", "Joshi",
    "Kaplan", "Keller", "Khan", "Kim", "Knox", "Larsen", "Lawson", "Le", "Lopez", "Lowe",
    "Lund", "Maddox", "Malone", "Martinez", "Matsumoto", "McCarthy", "Medina", "Meyer", "Miller",
    "Mitchell", "Molina", "Moreno", "Murphy", "Nakamura", "Nash", "Nielsen", "Novak", "O'Brien",
    "Okonkwo", "Olson", "Ortega", "Palmer", "Patel", "Pearson", "Pham", "Porter", "Quinn",
    "Ramirez", "Reed", "Reyes", "Rivera", "Robbins", "Rojas", "Russo", "Sanchez", "Schmidt",
    "Schultz", "Shah", "Shapiro", "Silva", "Singh", "Soto", "Stewart", "Sullivan", "Suzuki",
    "Swanson", "Takahashi", "Thompson", "Torres", "Tran", "Underwood", "Vargas", "Vasquez",
    "Vo", "Wagner", "Walsh", "Warren", "Weber", "Wheeler", "Wong", "Wright", "Yoon", "Young",
    "Zhang", "Zimmerman",
)

#: Residential streets with the city and ZIP code they belong to.
HOME_STREETS: tuple[tuple[str, str, str], ...] = (
    ("SE Woodward St", "Portland", "97202"), ("SE Tibbetts St", "Portland", "97202"),
    ("SE Lambert St", "Portland", "97202"), ("SE Taylor St", "Portland", "97214"),
    ("SE Madison St", "Portland", "97214"), ("SE Yamhill St", "Portland", "97215"),
    ("SE Lincoln St", "Portland", "97215"), ("SE Clinton St", "Portland", "97202"),
    ("NE Going St", "Portland", "97211"), ("NE Skidmore St", "Portland", "97211"),
    ("NE Thompson St", "Portland", "97212"), ("NE Klickitat St", "Portland", "97212"),
    ("NE Tillamook St", "Portland", "97213"), ("NE Siskiyou St", "Portland", "97213"),
    ("NE Davis St", "Portland", "97232"), ("N Commercial Ave", "Portland", "97227"),
    ("N Concord Ave", "Portland", "97217"), ("N Wabash Ave", "Portland", "97217"),
    ("N Central St", "Portland", "97203"), ("NW Johnson St", "Portland", "97210"),
    ("NW Overton St", "Portland", "97209"), ("SW Vermont St", "Portland", "97219"),
    ("SW Dolph Ct", "Portland", "97219"), ("SW Chestnut St", "Portland", "97239"),
    ("SE Harold St", "Portland", "97206"), ("SE Ellis St", "Portland", "97206"),
    ("SE 52nd Ave", "Portland", "97206"), ("SE Ankeny St", "Portland", "97216"),
    ("SE Holgate Blvd", "Portland", "97266"), ("SE Jackson St", "Milwaukie", "97222"),
    ("SW Greenwood Rd", "Lake Oswego", "97034"), ("SW Walnut St", "Tigard", "97223"),
    ("SW Allen Blvd", "Beaverton", "97005"), ("SW Hart Rd", "Beaverton", "97007"),
    ("NE Hogan Dr", "Gresham", "97030"), ("SE Sunnyside Rd", "Clackamas", "97015"),
    ("NE Orenco Station Pkwy", "Hillsboro", "97124"), ("Willamette Dr", "West Linn", "97068"),
)

OTHER_SOURCES = ("Google search", "Google Maps", "Walked past the studio", "Instagram",
                 "Division St. wellness fair", "Nextdoor", "Yelp", "Neighborhood newsletter",
                 "Workplace wellness day")

INSURERS: tuple[tuple[str, str], ...] = (
    # (carrier, member id pattern: # is a digit)
    ("Regence BlueCross BlueShield of Oregon", "ZGR#########"),
    ("Providence Health Plan", "00########"),
    ("Moda Health", "M#########"),
    ("PacificSource", "0#########"),
    ("Aetna", "W#########"),
)
AUTO_INSURERS: tuple[tuple[str, str], ...] = (
    ("State Farm (PIP)", "37-####-###"),
    ("Progressive (PIP)", "25-#######"),
    ("GEICO (PIP)", "0###############"),
)

#: Client quotes: (the words, the conditions they speak to, the focuses of clients who might
#: have said them). Conditions are the practice's (config.toml) and other common ones.
QUOTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("My migraines went from three a week to one a month. I finally have my evenings back.",
     "migraine", ("migraine",)),
    ("I was down to one headache a week by the end, and my neurologist could see it in the "
     "reports Maya sent.", "migraine; chronic migraine", ("chronic migraine",)),
    ("After the car accident I couldn't turn my head to back out of the driveway. Six weeks "
     "later I can check my blind spot again.", "neck pain and whiplash", ("whiplash",)),
    ("I clench my jaw at night. The work on my jaw and neck stopped the morning headaches.",
     "jaw pain (TMJ); tension-type headache", ("jaw pain (TMJ)",)),
    ("The tension headaches that came every afternoon at my desk are gone.",
     "tension-type headache", ("tension-type headache",)),
    ("Calm, professional and on time. My doctor was glad to get the progress notes.",
     "neck pain and whiplash", ("neck pain", "chronic neck pain")),
    ("The prenatal sessions were the only time my back stopped hurting in the third trimester.",
     "prenatal back pain", ("prenatal back pain",)),
    ("I came in skeptical and left with a plan, exercises and far fewer headaches.",
     "tension-type headache; neck pain and whiplash", ("cervicogenic headache",)),
    ("Opening my mouth wide enough for a sandwich shouldn't be a big deal, but it was. Now it "
     "isn't.", "TMJ", ("jaw pain (TMJ)",)),
    ("My shoulders used to live up around my ears. Now I get through a full day at the "
     "computer without that burning between my shoulder blades.",
     "upper-back and shoulder tension",
     ("upper-back and shoulder tension", "neck and shoulder tension")),
    ("I can sit through a whole movie again without getting up to stretch my back.",
     "low back pain", ("low back pain",)),
    ("Back to running three times a week after my neck strain, and I know what to do when it "
     "tightens up.", "sports recovery; neck pain and whiplash", ("neck strain",)),
    ("My shoulder let me swim again by the end of the season.", "sports recovery",
     ("shoulder pain", "neck strain", "upper-back and shoulder tension")),
    ("Fewer headache days and less medication. I wish I'd come years ago.",
     "migraine; tension-type headache",
     ("migraine", "stress and tension headache", "tension-type headache")),
    ("She found knots in my neck I didn't know were there, and my afternoon headaches eased "
     "within a month.", "tension-type headache; upper-back and shoulder tension",
     ("neck and shoulder tension", "headache")),
)
