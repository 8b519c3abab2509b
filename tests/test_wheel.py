"""The wheel as a user gets it: built from this checkout, installed into a fresh virtual
environment without network, and run from empty folders outside the checkout.

The build uses the project's own hatchling (--no-build-isolation, --no-index) and the install
`pip install --no-deps --no-index WHEEL`, so nothing is downloaded. A venv made from this one's
python does not see this venv's packages (--system-site-packages would give the base
interpreter's), so a .pth file lends them for the dependencies; the .pth files among them, such
as the editable install's pointer to the checkout, are not read, so refdesk itself comes from
the wheel alone. All tests share one build: one xdist group.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, need

pytestmark = pytest.mark.xdist_group("wheel")

BIN = "Scripts" if os.name == "nt" else "bin"
EXE = ".exe" if os.name == "nt" else ""


@dataclass
class Installed:
    wheel: Path
    venv: Path
    home: Path  # the user's home and config folders, so `new` registers nothing of ours
    base: Path

    @property
    def python(self) -> Path:
        return self.venv / BIN / f"python{EXE}"

    @property
    def refdesk(self) -> Path:
        return self.venv / BIN / f"refdesk{EXE}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in {"REFDESK_CONFIG", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_DATA_HOME=str(self.home / ".local" / "share"),
                   XDG_CACHE_HOME=str(self.home / ".cache"), APPDATA=str(self.home / "AppData"),
                   PATH=os.pathsep.join([str(self.venv / BIN), os.environ.get("PATH", "")]),
                   NO_COLOR="1", COLUMNS="120")
        return env

    def run(self, *args: str | Path, cwd: Path, ok: tuple[int, ...] = (0,)
            ) -> subprocess.CompletedProcess[str]:
        """Run `refdesk ARGS` (or python, when args start with "python") in `cwd`."""
        program = self.python if args and args[0] == "python" else self.refdesk
        rest = args[1:] if program == self.python else args
        done = subprocess.run([str(program), *map(str, rest)], cwd=cwd, env=self.env(),
                              capture_output=True, text=True, encoding="utf-8", timeout=600)
        assert done.returncode in ok, (
            f"{' '.join(map(str, args))} (in {cwd}) exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        return done

    def empty_folder(self, name: str) -> Path:
        folder = self.base / name
        folder.mkdir()
        return folder


def _pip(*args: str | Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check",
                           *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, f"pip {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    need(importlib.util.find_spec("hatchling") is not None,
         "hatchling, the build backend, is not installed here (make setup installs it)")
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    _pip("wheel", ROOT, "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist)
    wheels = list(dist.glob("refdesk-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / BIN / f"python{EXE}"
    _pip("--python", python, "install", "--no-deps", "--no-index", "-q", wheels[0])
    # The dependencies come from this venv, lent after the install so pip sees none of them.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site.stdout.strip()) / "_project_dependencies.pth").write_text(
        "\n".join(ours) + "\n", encoding="utf-8")
    home = base / "home"
    home.mkdir()
    return Installed(wheel=wheels[0], venv=venv, home=home, base=base)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_wheel_carries_the_templates_config_and_sample(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        bundled = {name.removeprefix("refdesk/_bundled/"): wheel.read(name)
                   for name in names if name.startswith("refdesk/_bundled/")}
    shipped = {p.relative_to(ROOT).as_posix(): p.read_bytes()
               for p in [ROOT / "config.toml", ROOT / "workbooks" / "referrals.xlsx",
                         *(ROOT / "templates").iterdir()]}
    assert {k: _digest(v) for k, v in bundled.items()} == {
        k: _digest(v) for k, v in shipped.items()}
    assert "refdesk/resources.py" in names and "refdesk/cli.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "scripts/"))]


def test_the_wheel_carries_the_desks_templates_and_static_files(installed: Installed) -> None:
    desk = ROOT / "refdesk" / "desk"
    files = [p for folder in ("templates", "static") for p in (desk / folder).iterdir()
             if p.is_file()]
    assert any(p.name == "base.html" for p in files) and any(p.suffix == ".js" for p in files)
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        for path in files:
            name = path.relative_to(ROOT).as_posix()
            assert name in names, name
            assert _digest(wheel.read(name)) == _digest(path.read_bytes()), name
    folder = installed.empty_folder("desk")
    refused = installed.run("desk", "--host", "0.0.0.0", cwd=folder, ok=(2,))
    assert "this computer only" in refused.stderr


def test_installed_refdesk_reads_its_own_resources(installed: Installed) -> None:
    folder = installed.empty_folder("resources")
    probe = (
        "import json, hashlib, refdesk; from refdesk import resources as r; "
        "print(json.dumps({'module': refdesk.__file__, 'templates': str(r.templates()), "
        "'names': sorted(t.name for t in r.templates().iterdir()), "
        "'config': r.sample_config(), "
        "'workbook': hashlib.sha256(r.sample_workbook()).hexdigest(), "
        "'placeholders': r.placeholders(r.config_template())}))"
    )
    found = json.loads(installed.run("python", "-c", probe, cwd=folder).stdout)
    module = Path(found["module"]).resolve()
    assert module.is_relative_to(installed.venv.resolve()), module  # not the checkout
    assert "_bundled" in Path(found["templates"]).parts
    assert found["names"] == sorted(p.name for p in (ROOT / "templates").iterdir())
    assert found["config"] == (ROOT / "config.toml").read_text(encoding="utf-8")
    assert found["workbook"] == _digest((ROOT / "workbooks" / "referrals.xlsx").read_bytes())
    assert {"name", "therapist", "npi", "email"} <= set(found["placeholders"])
    version = installed.run("--version", cwd=folder)
    assert version.stdout.startswith("refdesk, version ")
    assert list(folder.iterdir()) == []  # reading resources writes nothing


def _commands(installed: Installed, practice: Path, cwd: Path, *, pdf: bool) -> None:
    """summary, check, todo, stats --html and a one-letter merge preview, run in `cwd`."""
    config = practice / "config.toml"
    summary = installed.run("summary", cwd=cwd)
    assert f"Config: {config}" in summary.stderr  # says which config it used
    assert f"workbook: {practice / 'workbooks' / 'referrals.xlsx'}" in summary.stderr
    installed.run("check", cwd=cwd, ok=(0, 1))  # 1: the sample's planted mistakes
    installed.run("todo", "--on", "2026-11-23", cwd=cwd)
    report = cwd / f"report-{cwd.name}.html"
    installed.run("stats", "--to", "2026-10-31", "--html", report, cwd=cwd)
    assert "<svg" in report.read_text(encoding="utf-8")
    before = set((practice / "letters").rglob("*"))
    extra = ["--pdf"] if pdf else []
    installed.run("merge", "thank-you", "--preview", "1", "--today", "2026-11-23", *extra,
                  cwd=cwd)
    made = {p.suffix for p in set((practice / "letters").rglob("*")) - before if p.is_file()}
    assert made == ({".docx", ".pdf"} if pdf else {".docx"})


def test_a_sample_practice_made_and_used_from_anywhere(installed: Installed, soffice: str
                                                       ) -> None:
    work = installed.empty_folder("work")
    installed.run("new", "practice", "--sample", cwd=work)
    practice = work / "practice"
    assert (practice / "config.toml").read_text(encoding="utf-8") == (
        ROOT / "config.toml").read_text(encoding="utf-8")
    assert {p.name for p in (practice / "templates").glob("*.docx")} == {
        p.name for p in (ROOT / "templates").glob("*.docx")}
    by_flag = installed.run("summary", "--config", practice / "config.toml", cwd=work)
    assert "(given with --config)" in by_flag.stderr
    _commands(installed, practice, practice, pdf=True)
    # From a folder with no config.toml: the default practice that `new` registered.
    _commands(installed, practice, installed.empty_folder("elsewhere"), pdf=True)


def test_a_practice_made_from_flags(installed: Installed) -> None:
    work = installed.empty_folder("flags")
    installed.run("new", "birch", "--yes", "--no-default", "--name", "Birch Street Bodywork",
                  "--therapist", "Ana Ortiz", "--npi", "1234567893", "--state", "WA",
                  "--conditions", "low back pain; sciatica", cwd=work)
    practice = work / "birch"
    config = practice / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert 'name = "Birch Street Bodywork"' in text and '"{name}"' not in text
    assert "[jobs.thank-you]" in text  # the shipped jobs come along
    for command in (["summary"], ["check"], ["todo"]):
        done = installed.run(*command, "--config", config, cwd=work)
        assert done.returncode == 0
    installed.run("merge", "thank-you", "--preview", "1", cwd=practice)


def test_a_wheel_built_from_the_sdist_carries_the_same_files(installed: Installed) -> None:
    """`python -m build` makes the sdist first and the wheel from it: nothing may go missing."""
    sdist_dir = installed.base / "sdist"
    sdist_dir.mkdir()
    made = subprocess.run([sys.executable, "-c", "import sys; from hatchling.build import "
                           "build_sdist; print(build_sdist(sys.argv[1]))", str(sdist_dir)],
                          cwd=ROOT, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    with tarfile.open(sdist_dir / made.stdout.strip()) as sdist:
        sdist.extractall(sdist_dir, filter="data")
    unpacked = next(p for p in sdist_dir.iterdir() if p.is_dir())
    _pip("wheel", unpacked, "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w",
         sdist_dir / "dist")
    (again,) = (sdist_dir / "dist").glob("refdesk-*.whl")
    with zipfile.ZipFile(installed.wheel) as first, zipfile.ZipFile(again) as second:
        bundled = [n for n in first.namelist() if n.startswith("refdesk/_bundled/")]
        assert bundled
        assert sorted(first.namelist()) == sorted(second.namelist())
        assert all(first.read(n) == second.read(n) for n in bundled)
