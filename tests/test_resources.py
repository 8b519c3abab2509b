"""The shipped files: templates, the config template for a new practice, the sample practice."""

import tomllib
from pathlib import Path

from refdesk import resources

ROOT = Path(__file__).resolve().parent.parent


def test_checkout_reads_the_repository_files():
    assert resources.sample_config() == (ROOT / "config.toml").read_text(encoding="utf-8")
    assert resources.sample_workbook() == (ROOT / "workbooks" / "referrals.xlsx").read_bytes()
    names = {item.name for item in resources.templates().iterdir()}
    assert {p.name for p in (ROOT / "templates").glob("*.docx")} <= names


def test_config_template_keeps_everything_but_the_practice():
    template = resources.config_template()
    sample = tomllib.loads(resources.sample_config())
    names = resources.placeholders(template)
    assert names == list(sample["practice"])  # every practice key, in the sample's order
    values = {name: f"new {name}" for name in names}
    values["conditions"] = ["low back pain", 'a "quoted" one']
    values["new_patients"] = False
    filled = tomllib.loads(resources.fill_config(template, values))
    assert filled["practice"]["name"] == "new name"
    assert filled["practice"]["conditions"] == ["low back pain", 'a "quoted" one']
    assert filled["practice"]["new_patients"] is False
    assert filled["email"]["sender"] == "new email"  # the sample's sender repeats its email
    for table in ("source", "program", "merge", "jobs"):
        assert filled[table] == sample[table]
    assert {k: v for k, v in filled["email"].items() if k != "sender"} == {
        k: v for k, v in sample["email"].items() if k != "sender"
    }
    # the comments stay, and no sample practice value is left behind
    comments = [line for line in resources.sample_config().splitlines() if line.startswith("#")]
    assert comments and all(line in template.splitlines() for line in comments)
    assert sample["practice"]["name"] not in template
    assert sample["practice"]["email"] not in template


def test_fill_config_names_missing_values():
    template = resources.config_template()
    try:
        resources.fill_config(template, {"name": "x"})
    except KeyError as error:
        assert "therapist" in str(error)
    else:
        raise AssertionError("a missing value must be refused")


def test_copy_tree_never_overwrites(tmp_path):
    dest = tmp_path / "templates"
    dest.mkdir()
    (dest / "thank-you.docx").write_bytes(b"mine")
    written = resources.copy_tree(resources.templates(), dest)
    assert dest / "thank-you.docx" not in written
    assert (dest / "thank-you.docx").read_bytes() == b"mine"
    assert (dest / "intro-letter.docx").read_bytes() == (
        ROOT / "templates" / "intro-letter.docx"
    ).read_bytes()
    assert resources.copy_tree(resources.templates(), dest) == []


def test_config_template_says_what_each_practice_key_holds():
    from refdesk.config import SECTIONS

    template = resources.config_template()
    lines = template.splitlines()
    npi = lines.index('npi = "{npi}"')
    assert lines[npi - 1] == "# " + SECTIONS["practice"]["npi"].description
    # the keys the sample leaves out are there, commented out with their defaults
    assert '# place_of_service = "11"' in lines
    assert "# services = [" in lines
    filled = resources.fill_config(template, {k: "x" for k in resources.placeholders(template)})
    practice = tomllib.loads(filled)["practice"]
    assert "place_of_service" not in practice and "services" not in practice


def test_config_template_keeps_inline_comments_and_commented_list_items(monkeypatch):
    sample = (
        "# top\n[practice]\nname = \"Old\"  # as printed\nconditions = [\n  \"a\",\n"
        "  # \"b\",\n  \"c\",\n]\nemail = \"old@example.org\"\n\n[email]\n"
        "sender = \"old@example.org\"\n"
    )
    monkeypatch.setattr(resources, "sample_config", lambda: sample)
    template = resources.config_template()
    assert 'name = "{name}"  # as printed' in template
    assert '"a"' not in template and '"c"' not in template and "Old" not in template
    filled = resources.fill_config(
        template, {"name": "New", "conditions": ["x"], "email": "new@example.org"})
    data = tomllib.loads(filled)
    assert data["practice"] == {"name": "New", "conditions": ["x"], "email": "new@example.org"}
    assert data["email"]["sender"] == "new@example.org"


def test_fill_config_leaves_comments_alone():
    template = '# e.g. name = "{name}"\nname = "{name}"\n'
    assert resources.placeholders(template) == ["name"]
    assert resources.fill_config(template, {"name": "A"}) == '# e.g. name = "{name}"\nname = "A"\n'
