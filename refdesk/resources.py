"""The files refdesk ships with: the Word templates, the commented config and the sample practice.

Installed from a wheel, they live inside the package under ``refdesk/_bundled/`` and are read
through importlib.resources. In a checkout (or an editable install) they are the repository's
own ``templates/``, ``config.toml`` and ``workbooks/referrals.xlsx``: the wheel is built from
those same files, so each fact has one copy.

The configuration for a new practice is made from the sample's config.toml: the values of its
``[practice]`` table become ``"{key}"`` placeholders (and so does any other value that repeats
one of them, such as ``[email] sender``), while the comments and every other table stay as they
are. ``fill_config`` puts real values in their place.
"""

from __future__ import annotations

import re
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
    becomes one line); a string elsewhere equal to a practice value (``[email] sender``) becomes
    that key's placeholder. Comments, [source], [program], [merge], [email] and the jobs stay.
    """
    text = sample_config()
    practice = tomllib.loads(text).get("practice", {})
    out: list[str] = []
    table = ""
    skipping = False  # inside a multi-line practice value being replaced
    for line in text.splitlines():
        stripped = line.strip()
        if _TABLE_LINE.match(line):
            table = stripped.strip("[]").strip()
            skipping = False
        elif table == "practice":
            key = _KEY_LINE.match(line)
            if key and key.group(1) in practice:
                out.append(f'{key.group(1)} = "{{{key.group(1)}}}"')
                skipping = True
                continue
            if skipping and stripped and not stripped.startswith("#"):
                continue  # a continuation line of the value just replaced
            skipping = False
        else:
            line = _replace_repeats(line, practice)
        out.append(line)
    return "\n".join(out) + "\n"


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


def placeholders(template: str) -> list[str]:
    """The placeholder names in a config template, in order of first appearance."""
    seen: dict[str, None] = {}
    for name in _PLACEHOLDER.findall(template):
        seen.setdefault(name, None)
    return list(seen)


def fill_config(template: str, values: dict[str, object]) -> str:
    """The template with each ``"{key}"`` replaced by ``values[key]`` written as TOML.

    Strings are quoted and escaped, lists become TOML arrays, booleans and numbers stay bare.
    A placeholder without a value is an error that names the missing keys.
    """
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise KeyError("no value for: " + ", ".join(missing))
    return _PLACEHOLDER.sub(lambda m: _toml_value(values[m.group(1)]), template)


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
