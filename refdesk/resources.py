"""The files refdesk ships with: the Word templates, the commented config and the sample practice.

Installed from a wheel, they live inside the package under ``refdesk/_bundled/`` and are read
through importlib.resources. In a checkout (or an editable install) they are the repository's
own ``templates/``, ``config.toml`` and ``workbooks/referrals.xlsx``: the wheel is built from
those same files, so each fact has one copy.

The configuration for a new practice is made from the sample's config.toml: the values of its
``[practice]`` table become ``"{key}"`` placeholders (and so does any other value that repeats
one of them, such as ``[email] sender``), each under its description from config.SECTIONS, and
the optional keys the sample leaves out are shown commented out; the sample's comments and every
other table stay as they are. ``fill_config`` puts real values in their place.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

BUNDLED = "_bundled"
CONFIG = "config.toml"
TEMPLATES = "templates"
WORKBOOK = "workbooks/referrals.xlsx"

_KEY_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*=")
_TABLE_LINE = re.compile(r"^\s*\[")
_PLACEHOLDER = re.compile(r'"\{([A-Za-z0-9_]+)\}"')


def _root() -> Traversable:
    """The folder of templates/, config.toml and workbooks/: bundled first, else the checkout."""
    bundled = files("refdesk") / BUNDLED
    if bundled.is_dir():
        return bundled
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / CONFIG).is_file() and (checkout / TEMPLATES).is_dir():
        return checkout
    raise FileNotFoundError(
        "refdesk's templates and sample are missing from this installation: "
        "reinstall it (pipx install --force refdesk)"
    )


def templates() -> Traversable:
    """The folder of the shipped Word templates (.docx, and their README)."""
    return _root() / TEMPLATES


def sample_config() -> str:
    """The sample practice's config.toml, as shipped."""
    return (_root() / CONFIG).read_text(encoding="utf-8")


def sample_workbook() -> bytes:
    """The sample practice's workbook (workbooks/referrals.xlsx)."""
    return _root().joinpath(*WORKBOOK.split("/")).read_bytes()


def config_template() -> str:
    """The commented config.toml for a new practice, its practice values as "{key}" placeholders.

    Each key of the sample's [practice] table becomes ``key = "{key}"`` (a multi-line list
    becomes one line) under a comment saying what it holds (config.SECTIONS, which the README's
    table and the check of a user's file also use); the optional keys the sample leaves out
    follow, commented out with their defaults. A string elsewhere equal to a practice value
    (``[email] sender``) becomes that key's placeholder. Comments, [source], [program], [merge],
    [email] and the jobs stay as the sample has them.
    """
    text = sample_config()
    practice = tomllib.loads(text).get("practice", {})
    out: list[str] = []
    table = ""
    skipping = False  # inside a multi-line practice value being replaced
    for line in text.splitlines():
        if _TABLE_LINE.match(line):
            if table == "practice":
                _add_optional(out, practice)
            table = line.strip().strip("[]").strip()
            skipping = False
        elif table == "practice":
            key = _KEY_LINE.match(line)
            if key and key.group(1) in practice:
                name = key.group(1)
                out += _described(name)
                out.append(f'{name} = "{{{name}}}"{_inline_comment(line)}')
                skipping = True
                continue
            if skipping and line[:1] in (" ", "\t", "]"):
                continue  # a continuation line of the value just replaced
            skipping = False
        else:
            line = _replace_repeats(line, practice)
        out.append(line)
    if table == "practice":
        _add_optional(out, practice)
    return "\n".join(out) + "\n"


def _described(key: str) -> list[str]:
    """A practice key's description from config.SECTIONS, as comment lines."""
    from refdesk.config import SECTIONS

    spec = SECTIONS["practice"].get(key)
    if spec is None:
        return []
    # a template tag such as {{ practice.name }} stays on one line
    kept = re.sub(r"\{\{.*?\}\}", lambda m: m.group().replace(" ", "\0"), spec.description)
    lines = textwrap.wrap(kept, width=98, initial_indent="# ", subsequent_indent="# ",
                          break_on_hyphens=False)
    return [line.replace("\0", " ") for line in lines]


def _add_optional(out: list[str], present: dict[str, object]) -> None:
    """The declared practice keys the sample does not set, commented out with their defaults,
    placed at the end of the [practice] table (before its trailing blank lines)."""
    from refdesk.config import SECTIONS

    missing = [key for key in SECTIONS["practice"] if key not in present]
    if not missing:
        return
    blanks = 0
    while out and not out[-1].strip():
        out.pop()
        blanks += 1
    out += ["", "# Optional: remove the # before a setting (each of its lines) to use it."]
    for key in missing:
        default = SECTIONS["practice"][key].default
        default = list(default) if isinstance(default, tuple) else default
        out += _described(key)
        written = _toml_value("" if default is None else default)
        out += [f"# {line}" for line in f"{key} = {written}".splitlines()]
    out += [""] * blanks


def _replace_repeats(line: str, practice: dict[str, object]) -> str:
    """A ``key = "value"`` line whose value is a practice string gets that key's placeholder."""
    key = _KEY_LINE.match(line)
    if not key:
        return line
    value = line[key.end():].strip()
    for name, fact in practice.items():
        if isinstance(fact, str) and fact and value == _toml_value(fact):
            return f'{line[:key.end()]} "{{{name}}}"'
    return line


def _inline_comment(line: str) -> str:
    """The ``  # ...`` after a one-line ``key = value``, kept with the placeholder."""
    for at in [i for i, char in enumerate(line) if char == "#"]:
        try:
            tomllib.loads(line[:at])
        except tomllib.TOMLDecodeError:
            continue
        return "  " + line[at:]
    return ""


def placeholders(template: str) -> list[str]:
    """The placeholder names in a config template, in order of first appearance."""
    seen: dict[str, None] = {}
    for line in _setting_lines(template):
        for name in _PLACEHOLDER.findall(line):
            seen.setdefault(name, None)
    return list(seen)


def _setting_lines(template: str) -> list[str]:
    """The lines of a template that are not whole-line comments."""
    return [line for line in template.splitlines() if not line.lstrip().startswith("#")]


def fill_config(template: str, values: dict[str, object]) -> str:
    """The template with each ``"{key}"`` replaced by ``values[key]`` written as TOML.

    Strings are quoted and escaped, lists become TOML arrays, booleans and numbers stay bare.
    A placeholder without a value is an error that names the missing keys.
    """
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise KeyError("no value for: " + ", ".join(missing))
    lines = template.splitlines(keepends=True)
    return "".join(
        line if line.lstrip().startswith("#")
        else _PLACEHOLDER.sub(lambda m: _toml_value(values[m.group(1)]), line)
        for line in lines
    )


def _toml_value(value: object) -> str:
    """One value written as TOML (strings, booleans, numbers and lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = "".join(f"  {_toml_value(item)},\n" for item in value)
        return "[\n" + items + "]"
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    escaped = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}",
                     escaped)
    return f'"{escaped}"'


def copy_tree(src: Traversable, dest: Path) -> list[Path]:
    """Copy a resource folder into ``dest``; return the files written.

    Never overwrites: a file already at the destination is left as it is and not returned.
    """
    written: list[Path] = []
    dest.mkdir(parents=True, exist_ok=True)
    for item in sorted(src.iterdir(), key=lambda t: t.name):
        target = dest / item.name
        if item.is_dir():
            written += copy_tree(item, target)
            continue
        try:
            with open(target, "xb") as handle:  # exclusive create: an existing file stays
                handle.write(item.read_bytes())
        except FileExistsError:
            continue
        written.append(target)
    return written
