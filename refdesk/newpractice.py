"""`refdesk new FOLDER`: a practice folder ready to use.

The folder gets config.toml (the practice's answers written into the commented template that
ships with refdesk), templates/ (the Word templates, to edit), workbooks/referrals.xlsx (a new
workbook as `refdesk init` makes it) and letters/ (where merged documents go). With --sample it
gets the demo practice's config and workbook instead.

Nothing there is ever overwritten: every file is looked for before the first one is written.
Each answer is checked with the rules `refdesk check` applies to config.toml, so a new folder
passes its own check.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from refdesk import characters
from refdesk.errors import InitError

CONFIG_FILE = "config.toml"
TEMPLATES_FOLDER = "templates"
WORKBOOK_FILE = "workbooks/referrals.xlsx"
LETTERS_FOLDER = "letters"
#: Separates the conditions typed on one line, as the workbook's list cells do.
LIST_SEPARATOR = ";"


class FolderInUseError(InitError):
    """The folder already holds a file `refdesk new` would write."""

    exit_code = 1


@dataclass(frozen=True)
class Question:
    """One answer for config.toml's [practice]: asked at the terminal, or given as --KEY."""

    key: str
    prompt: str
    required: bool = False
    default: str = ""
    #: The name of the format rule `refdesk check` applies (refdesk.check.formats), if any.
    rule: str = ""
    #: The flag's help, when the question's wording is for the terminal only.
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


QUESTIONS: tuple[Question, ...] = (
    Question("name", "Practice name, as letters print it", required=True),
    Question("therapist", "Therapist's full name", required=True),
    Question("credentials", "Credentials after the name", default="LMT"),
    Question("license", "State license number (e.g. OR LMT #21874)"),
    Question("npi", "NPI (10 digits; leave empty if you have none)", rule="npi",
             help="The practice's NPI, 10 digits."),
    Question("street", "Street address"),
    Question("city", "City"),
    Question("state", "State (two letters)", rule="state"),
    Question("zip", "ZIP code (5 or 9 digits)", rule="zip_code"),
    Question("phone", "Office phone", rule="phone"),
    Question("fax", "Office fax (leave empty if none)", rule="phone", help="Office fax."),
    Question("email", "Office email", rule="email"),
    Question("specialty", "Specialty (the condition or area you specialise in)"),
    Question("conditions", f"Conditions you treat (separate them with {LIST_SEPARATOR})"),
)
QUESTIONS_BY_KEY = {q.key: q for q in QUESTIONS}


def normalize(key: str, value: str) -> str:
    """An answer as config.toml keeps it: trimmed; a state in capitals; a ZIP+4 typed as nine
    digits gets its hyphen."""
    value = characters.trim(value)
    if key == "state" and len(value) == 2:
        return value.upper()
    if key == "zip" and re.fullmatch(r"\d{9}", value):
        return f"{value[:5]}-{value[5:]}"
    return value


def problem(key: str, value: str, country: str = "US") -> str:
    """What is wrong with an answer (normalized), with the fix; "" when it is fine."""
    question = QUESTIONS_BY_KEY[key]
    if not value:
        return f"{question.flag[2:]} is needed" if question.required else ""
    found = characters.first_forbidden(value)
    if found:
        return (f"the answer holds {characters.what(found[1])} at character {found[0]}; "
                "type it again")
    if "\n" in characters.line_breaks(value):
        return "the answer goes on one line"
    if not question.rule:
        return ""
    from refdesk.check import formats
    from refdesk.check.problem import Severity

    finding = getattr(formats, question.rule)(value, country)
    return finding.message if finding and finding.severity is Severity.ERROR else ""


def conditions(text: str) -> list[str]:
    """The conditions typed on one line, separated by ';'."""
    return [c for c in (characters.trim(part) for part in text.split(LIST_SEPARATOR)) if c]


def config_text(answers: Mapping[str, str]) -> str:
    """config.toml for a new practice: the shipped template with the answers filled in (TOML
    escaped), the declared default for every other practice key."""
    from refdesk.config import SECTIONS
    from refdesk.resources import config_template, fill_config

    values: dict[str, Any] = {key: spec.default for key, spec in SECTIONS["practice"].items()}
    values.update({key: answers.get(key, "") for key in QUESTIONS_BY_KEY})
    values["conditions"] = conditions(answers.get("conditions", ""))
    values = {k: list(v) if isinstance(v, tuple) else ("" if v is None else v)
              for k, v in values.items()}
    return fill_config(config_template(), values)


@dataclass(frozen=True)
class Made:
    """What `make_practice` wrote."""

    folder: Path
    config: Path
    workbook: Path
    templates: Path
    letters: Path
    files: tuple[Path, ...]


def _tree_files(src: Traversable, prefix: str) -> list[str]:
    """The relative paths of the files in a resource folder."""
    found: list[str] = []
    for item in src.iterdir():
        path = f"{prefix}/{item.name}"
        found += _tree_files(item, path) if item.is_dir() else [path]
    return sorted(found)


def planned(templates: Traversable) -> tuple[list[str], list[str]]:
    """The files (relative, with /) and the folders `make_practice` makes in a folder."""
    files = [CONFIG_FILE, WORKBOOK_FILE, *_tree_files(templates, TEMPLATES_FOLDER)]
    folders = sorted({str(Path(f).parent.as_posix()) for f in files if "/" in f}
                     | {LETTERS_FOLDER})
    return files, folders


def in_the_way(folder: Path, templates: Traversable) -> list[Path]:
    """What in `folder` stops `make_practice`: a file it would write that exists, or a file
    where it needs a folder."""
    if folder.exists() and not folder.is_dir():
        return [folder]
    files, folders = planned(templates)
    found = [folder / f for f in files if (folder / f).exists() or (folder / f).is_symlink()]
    found += [folder / d for d in folders if (folder / d).exists() and not (folder / d).is_dir()]
    return sorted(found)


def refuse_in_the_way(folder: Path, templates: Traversable) -> None:
    """Raise FolderInUseError naming what in `folder` is in the way (see `in_the_way`)."""
    clash = in_the_way(folder, templates)
    if not clash:
        return
    if clash == [folder]:
        raise FolderInUseError(f"{folder}: is a file, not a folder; nothing was written. "
                               "Choose a new or empty folder.")
    names = [p.relative_to(folder).as_posix() for p in clash]
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    raise FolderInUseError(
        f"{folder}: already holds {shown}; refdesk new never overwrites a file, and nothing "
        "was written. Choose a new or empty folder, or move those away first.")


def make_practice(folder: Path, answers: Mapping[str, str] | None, *,
                  progress: Callable[[str], None] = lambda _text: None) -> Made:
    """Make the practice folder: from `answers` (normalized and checked), or the sample
    practice when `answers` is None. Raises FolderInUseError, naming the files, before
    writing anything when one of them is there already."""
    from refdesk import resources
    from refdesk.fileio import private_folder, write_file
    from refdesk.newbook import write_workbook

    templates = resources.templates()
    refuse_in_the_way(folder, templates)
    # Everything that can fail on the answers is done before the first file is written.
    config = resources.sample_config() if answers is None else config_text(answers)
    files, folders = planned(templates)
    # The folders this run makes, outermost first, so that a failure can take them away again.
    new_folders = [p for p in (*reversed(folder.parents), folder, *(folder / d for d in folders))
                   if not p.exists()]
    done: list[Path] = []  # the files written so far
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / WORKBOOK_FILE).parent.mkdir(exist_ok=True)
        try:
            written = resources.copy_tree(templates, folder / TEMPLATES_FOLDER)
        except BaseException:
            # Cut short: the templates there now were absent a moment ago, when refused above.
            done += [folder / f for f in files if f.startswith(f"{TEMPLATES_FOLDER}/")
                     and (folder / f).exists()]
            raise
        done += written
        progress(f"Copied {len(written)} files into {folder / TEMPLATES_FOLDER}.")
        workbook = folder / WORKBOOK_FILE
        if answers is None:
            write_file(workbook, resources.sample_workbook(), replace=False)
        else:
            write_workbook(workbook)
        done.append(workbook)
        letters = private_folder(folder / LETTERS_FOLDER)  # merged letters speak of clients
        # config.toml last: a folder cut short by a failure does not look finished.
        write_file(folder / CONFIG_FILE, config.encode("utf-8"), private=False, replace=False)
    except BaseException as exc:
        _remove(done, new_folders)
        if isinstance(exc, OSError):
            from refdesk.fileio import describe, os_fix

            raise InitError(f"{folder}: cannot be written ({describe(exc)}); {os_fix(exc)} "
                            "Nothing was left there.") from None
        raise
    return Made(folder, folder / CONFIG_FILE, workbook, folder / TEMPLATES_FOLDER, letters,
                (*written, workbook, folder / CONFIG_FILE))


def _remove(files: list[Path], new_folders: list[Path]) -> None:
    """Undo a folder made part way: the files this run wrote, then the folders it made (each
    only when empty, so nothing of anyone else's goes)."""
    for path in files:
        with contextlib.suppress(OSError):
            path.unlink()
    for made in reversed(new_folders):  # the innermost first
        with contextlib.suppress(OSError):
            made.rmdir()


# The terminal side: options, questions and the report. The command in refdesk/cli.py calls
# `run`; everything above works without a terminal.

def answer_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """One option per question (--name, --therapist, ...), for scripts."""
    import click

    for q in reversed(QUESTIONS):
        need = " Required with --yes." if q.required else ""
        default = f" [default: {q.default}]" if q.default else ""
        f = click.option(q.flag, q.key, metavar="TEXT",
                         help=f"{q.help or q.prompt + '.'}{default}{need}")(f)
    return f


def ask(question: Question, country: str = "US") -> str:
    """Ask one question until the answer passes; the reason is told each time it does not."""
    import click

    while True:
        try:
            typed = click.prompt(question.prompt, default=question.default,
                                 show_default=bool(question.default))
        except click.Abort:  # end of input, or Ctrl-C
            raise InitError(f"stopped at the question \"{question.prompt}\"; nothing was "
                            f"written. For scripts, give the answers as flags ({question.flag} "
                            "...) with --yes.") from None
        value = normalize(question.key, typed)
        reason = problem(question.key, value, country)
        if not reason:
            return value
        click.echo(f"  {reason[:1].upper()}{reason[1:]}. Please type it again.")


def answers_from(given: Mapping[str, str | None], *, yes: bool) -> dict[str, str]:
    """The answers: the flags given (checked; a wrong one is an error naming its flag), the
    rest asked at the terminal, or with `yes` their defaults (a required one missing is an
    error naming its flag)."""
    import click

    answers: dict[str, str] = {}
    for q in QUESTIONS:
        if given.get(q.key) is not None:
            value = normalize(q.key, given[q.key] or "")
            reason = problem(q.key, value)
            if reason:
                raise click.BadParameter(f"{reason}.", param_hint=q.flag)
            answers[q.key] = value
    missing = [q for q in QUESTIONS if q.key not in answers]
    if yes:
        needed = [q.flag for q in missing if q.required]
        if needed:
            raise click.UsageError(f"with --yes nothing is asked: give {' and '.join(needed)}.")
        return answers | {q.key: q.default for q in missing}
    if missing:
        click.echo("A few questions for config.toml (Enter leaves an optional answer empty; "
                   "everything can be changed in config.toml later).")
    for q in missing:
        answers[q.key] = ask(q)
    return answers


def shell_path(path: Path) -> str:
    """A path as it can be typed in a command: quoted when it holds a space or the like."""
    text = str(path)
    return text if re.fullmatch(r"[\w./:\\@%+=,-]+", text) else f'"{text}"'


def run(folder: Path, given: Mapping[str, str | None], *, sample: bool, yes: bool,
        register: bool, progress: Callable[[str], None]) -> Made:
    """`refdesk new`: check the folder and the answers, make the folder, register it as the
    default practice, and print what was made and the next three steps."""
    import click

    from refdesk import places, resources

    flags = [QUESTIONS_BY_KEY[k].flag for k, v in given.items() if v is not None]
    if sample and flags:
        raise click.UsageError(f"--sample makes the demo practice as it is; leave out "
                               f"{', '.join(flags)} (or leave out --sample).")
    refuse_in_the_way(folder, resources.templates())  # before any question, not after
    answers = None if sample else answers_from(given, yes=yes)
    made = make_practice(folder, answers, progress=progress)
    where = made.folder.resolve()
    what = "the sample practice" if sample else "a new practice"
    click.echo(f"Made {what} in {where}:")
    for name, about in ((CONFIG_FILE, "the practice's settings; edit it in any text editor"),
                        (f"{TEMPLATES_FOLDER}/", "the Word templates, yours to edit"),
                        (WORKBOOK_FILE, "the sample workbook" if sample else
                         "a new workbook, made as `refdesk init` makes one"),
                        (f"{LETTERS_FOLDER}/", "where merged documents go")):
        click.echo(f"  {name:<26}{about}")
    config = shell_path(where / CONFIG_FILE)
    if register:
        recorded = places.register_default(where)
        click.echo(f"It is now the default practice: refdesk commands run in a folder without "
                   f"a config.toml use it (recorded in {recorded}).")
    else:
        click.echo("Not made the default practice (--no-default): give --config "
                   f"{config}, or run refdesk inside {shell_path(where)}.")
    book = shell_path(where / WORKBOOK_FILE)
    first = (f"Open {book} to see the sample's providers, clients and referrals."
             if sample else f"Open {book}, read its \"Read me\" sheet and add your referring "
             "providers on the Providers sheet.")
    click.echo("\nNext steps:")
    click.echo(f"  1. {first}")
    click.echo(f"  2. refdesk check --config {config}")
    click.echo(f"  3. refdesk todo --config {config}")
    click.echo(f"     refdesk merge thank-you --dry-run --config {config}")
    return made
