"""Pictures, links and document properties in merged letters: the package stays whole (every
relationship resolves, every part has a content type), LibreOffice prints the pictures, and
the parts are the same as docxtpl's for the same template and data."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import docx
import jinja2
import pytest
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, RichText

from refdesk.merge.engine import CompiledTemplate, Picture, TemplateError, refdesk_environment
from refdesk.merge.package import PictureError
from refdesk.office import convert
from tests.conftest import need
from tests.docx_checks import package_problems, relationship_ids

RED, BLUE = (230, 20, 20), (20, 40, 220)
CLINIC = "https://clinic.example/book?who=ann&when=soon"


def png(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    """A solid PNG, written by hand so the tests need no imaging library."""
    width, height = size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(colour) * width
    body = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", body) +
                     chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))
    return path


def letter_template(path: Path, *, picture: Path | None = None) -> Path:
    """A letter: a chart and a signature in the body, a logo in the header, a link in the
    footer and the body, tags in the title, subject and comments."""
    document = docx.Document()
    props = document.core_properties
    props.title, props.subject = "Progress report for {{ client.name }}", "{{ client.name }}"
    props.comments = "From {{ practice.name }}"
    section = document.sections[0]
    section.header.paragraphs[0].text = "{{ logo }} {{ practice.name }}"
    section.footer.paragraphs[0].text = "Book online: {{r link }}"
    document.add_paragraph("Dear {{ provider.name }},")
    document.add_paragraph("Progress of {{ client.name }}: {{ chart }}")
    document.add_paragraph("Visit {{r link }} to book.")
    document.add_paragraph("{{ practice.signature }}")
    if picture is not None:  # a picture the template already holds
        document.add_picture(str(picture), width=Mm(10))
    document.save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    return {"chart": png(tmp_path / "chart.png", (300, 120), RED),
            "signature": png(tmp_path / "signature.png", (240, 60), BLUE),
            "logo": png(tmp_path / "logo.png", (64, 64), (20, 160, 60))}


def context(tpl: Any, images: dict[str, Path], *, picture: Any = InlineImage,
            name: str = "Ann & Bo <Lee>") -> dict[str, Any]:
    """The letter's data; pictures made with `picture` (docxtpl's InlineImage on `tpl`, or
    refdesk's Picture)."""
    def make(key: str, **size: Any) -> Any:
        if picture is InlineImage:
            return InlineImage(tpl, str(images[key]), **size)
        return Picture(images[key], **size)

    link = RichText()
    link.add("clinic.example", url_id=tpl.build_url_id(CLINIC), underline=True)
    return {"client": {"name": name}, "provider": {"name": "Dr. Ames"},
            "practice": {"name": "Cedar Lane", "signature": make("signature", height=Mm(12))},
            "chart": make("chart", width=Mm(60)), "logo": make("logo", height=Mm(8)),
            "link": link}


def docxtpl_render(path: Path, images: dict[str, Path]) -> dict[str, bytes]:
    tpl = DocxTemplate(str(path))
    tpl.render(context(tpl, images), jinja2.Environment(autoescape=True))
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}


@pytest.mark.parametrize("picture", [InlineImage, Picture], ids=["InlineImage", "Picture"])
def test_pictures_and_links_render_as_docxtpl_into_a_whole_package(
        tmp_path: Path, images: dict[str, Path], picture: Any) -> None:
    path = letter_template(tmp_path / "letter.docx")
    expected = docxtpl_render(path, images)
    engine = CompiledTemplate(path)
    data = context(engine, images, picture=picture)
    parts = engine.render_parts(data)
    assert {"word/document.xml", "word/header1.xml", "word/footer1.xml",
            "docProps/core.xml"} <= set(parts)
    # docxtpl escapes the properties twice when it autoescapes (Ann &amp;amp; Bo); refdesk once
    expected["docProps/core.xml"] = expected["docProps/core.xml"].replace(b"&amp;amp;", b"&amp;")\
        .replace(b"&amp;lt;", b"&lt;").replace(b"&amp;gt;", b"&gt;")
    for name, xml in parts.items():
        assert xml == expected[name], f"{name} differs from docxtpl's"
    whole = engine.render(data)
    assert package_problems(whole) == []
    ours = entries(whole)
    # the same pictures under the same names as docxtpl's
    assert {n: b for n, b in ours.items() if n.startswith("word/media/")} == {
        n: b for n, b in expected.items() if n.startswith("word/media/")}
    assert len([n for n in ours if n.startswith("word/media/")]) == 3
    # the link's relationship is in each part that uses it; docxtpl puts it in the body's only
    footer = relationship_ids(whole, "word/footer1.xml")
    assert ("hyperlink", CLINIC) in footer.values()
    header = relationship_ids(whole, "word/header1.xml")
    assert [v for v in header.values() if v[0] == "image"] == [("image", "media/image3.png")]
    assert any("footer1.xml: " in p for p in package_problems(
        _zip(expected))), "docxtpl leaves the footer's link dangling; refdesk does not"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_docxtpl_inline_image_on_the_engines_docx_template(tmp_path: Path,
                                                          images: dict[str, Path]) -> None:
    """InlineImage(engine.tpl, ...) once failed with "'Document' object has no attribute
    'current_rendering_part'"."""
    engine = CompiledTemplate(letter_template(tmp_path / "letter.docx"))
    data = context(engine.tpl, images) | {"link": "no link"}
    assert package_problems(engine.render(data)) == []


def test_many_letters_from_one_template_each_whole(tmp_path: Path,
                                                   images: dict[str, Path]) -> None:
    engine = CompiledTemplate(letter_template(tmp_path / "letter.docx"))
    other = png(tmp_path / "other.png", (40, 40), (0, 0, 0))
    first = engine.render(context(engine, images, picture=Picture))
    second = context(engine, images, picture=Picture)
    second["practice"]["signature"] = Picture(other, height=Mm(12))
    second["link"] = RichText("elsewhere", url_id=engine.build_url_id("https://b.example/"))
    letters = [first, engine.render(second), engine.render(context(engine, images,
                                                                   picture=Picture))]
    for letter in letters:
        assert package_problems(letter) == []
    media = [{n: b for n, b in entries(x).items() if n.startswith("word/media/")}
             for x in letters]
    assert media[0] == media[2] != media[1]
    assert entries(letters[1])["word/media/image2.png"] == other.read_bytes()
    assert ("hyperlink", "https://b.example/") in relationship_ids(
        letters[1], "word/footer1.xml").values()


def test_a_picture_the_template_holds_is_reused(tmp_path: Path,
                                                images: dict[str, Path]) -> None:
    path = letter_template(tmp_path / "letter.docx", picture=images["chart"])
    before = [n for n in entries(path.read_bytes()) if n.startswith("word/media/")]
    engine = CompiledTemplate(path)
    whole = engine.render(context(engine, images, picture=Picture))
    assert package_problems(whole) == []
    media = [n for n in entries(whole) if n.startswith("word/media/")]
    assert len(media) == len(before) + 2, "the chart's bytes are already in the package"
    assert engine.render_parts(context(engine, images, picture=Picture))[
        "word/document.xml"] == docxtpl_render(path, images)["word/document.xml"]


def test_a_link_in_a_header_and_the_body(tmp_path: Path) -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "{{r link }}"
    document.add_paragraph("{{r link }} and {{r other }}")
    path = tmp_path / "links.docx"
    document.save(path)
    engine = CompiledTemplate(path)
    data = {"link": RichText("a", url_id=engine.build_url_id(CLINIC)),
            "other": RichText("b", url_id=engine.build_url_id("mailto:desk@clinic.example"))}
    whole = engine.render(data)
    assert package_problems(whole) == []
    body = relationship_ids(whole, "word/document.xml")
    assert {("hyperlink", CLINIC), ("hyperlink", "mailto:desk@clinic.example")} <= set(
        body.values())
    assert list(relationship_ids(whole, "word/header1.xml").values()) == [
        ("hyperlink", CLINIC)]
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        rels = zf.read("word/_rels/header1.xml.rels").decode()
    assert 'TargetMode="External"' in rels and "ann&amp;when" in rels


def test_a_link_made_for_another_template_is_refused(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("See {{r link }}")
    path = tmp_path / "links.docx"
    document.save(path)
    engine = CompiledTemplate(path)
    with pytest.raises(TemplateError) as err:
        engine.render({"link": RichText("a", url_id="rId999")})
    assert err.value.message.startswith("links.docx, the body: a link or picture made for "
                                        "another template (relationship rId999)")


def test_pictures_that_cannot_be_placed(tmp_path: Path, images: dict[str, Path]) -> None:
    with pytest.raises(PictureError, match=r"nope\.png: no such picture"):
        Picture(tmp_path / "nope.png")
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(PictureError, match=r"notes\.png: not a picture"):
        Picture(tmp_path / "notes.png")
    with pytest.raises(PictureError, match="only in a Word template"):
        str(Picture(images["logo"]))  # an email text is no place for it
    engine = CompiledTemplate(letter_template(tmp_path / "letter.docx"))
    data = context(engine, images)
    data["chart"] = InlineImage(engine, str(tmp_path / "gone.png"))
    with pytest.raises(TemplateError) as err:
        engine.render(data)
    assert err.value.message.startswith("letter.docx, the body, paragraph 2 ('Progress of")
    assert "gone.png is missing" in err.value.message


# -- document properties -----------------------------------------------------------------------
def _with_app_company(path: Path, company: str) -> None:
    files = entries(path.read_bytes())
    app = files["docProps/app.xml"].decode()
    files["docProps/app.xml"] = app.replace("</Properties>", f"<Company>{company}</Company>"
                                            "</Properties>").encode()
    path.write_bytes(_zip(files))


def test_properties_render_escaped_once(tmp_path: Path, images: dict[str, Path]) -> None:
    path = letter_template(tmp_path / "letter.docx")
    document = docx.Document(str(path))
    document.core_properties.keywords = "{{ client.name }}, referral"
    document.core_properties.category = "{{ practice.name }}"
    document.save(path)
    _with_app_company(path, "{{ practice.name }} &amp; partners")
    engine = CompiledTemplate(path)
    whole = engine.render(context(engine, images))
    assert package_problems(whole) == []
    props = docx.Document(io.BytesIO(whole)).core_properties
    assert props.title == "Progress report for Ann & Bo <Lee>"
    assert (props.subject, props.comments) == ("Ann & Bo <Lee>", "From Cedar Lane")
    assert (props.keywords, props.category) == ("Ann & Bo <Lee>, referral", "Cedar Lane")
    files = entries(whole)
    assert b"Ann &amp; Bo &lt;Lee&gt;" in files["docProps/core.xml"]
    assert b"&amp;amp;" not in files["docProps/core.xml"]
    assert b"<Company>Cedar Lane &amp; partners</Company>" in files["docProps/app.xml"]


def test_property_tags_are_checked_like_the_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "{{ client.__class__ }}"
    document.save(tmp_path / "reach.docx")
    with pytest.raises(TemplateError, match=r"^reach\.docx, the document properties \(title\): "
                                            "the tag reaches the private attribute"):
        CompiledTemplate(tmp_path / "reach.docx")
    document.core_properties.title = "{{ client.nickname }}"
    document.save(tmp_path / "missing.docx")
    engine = CompiledTemplate(tmp_path / "missing.docx")
    assert engine.fields() == {"client.nickname"}, "a property's fields are the template's"
    with pytest.raises(TemplateError, match=r"^missing\.docx, the document properties "
                                            r"\(title\): .*nickname"):
        engine.render({"client": {"name": "Ann"}})
    document.core_properties.title = "{{ client.name }}"
    document.save(tmp_path / "control.docx")
    engine = CompiledTemplate(tmp_path / "control.docx")
    with pytest.raises(TemplateError, match="control character"):
        engine.render({"client": {"name": "Ann\x01"}})


# -- printed -----------------------------------------------------------------------------------
def _ppm_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (what pdftoppm writes)."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    return int(fields[1]), int(fields[2]), data[pos + 1:]


def _has_colour(rgb: bytes, colour: tuple[int, int, int], at_least: int) -> bool:
    count = 0
    for i in range(0, len(rgb) - 2, 3):
        if all(abs(rgb[i + k] - colour[k]) < 40 for k in range(3)):
            count += 1
            if count >= at_least:
                return True
    return False


def test_libreoffice_prints_the_pictures(tmp_path: Path, images: dict[str, Path],
                                         soffice: str) -> None:
    need(shutil.which("pdftoppm") is not None and shutil.which("pdfimages") is not None,
         "poppler's pdftoppm and pdfimages are not installed")
    engine = CompiledTemplate(letter_template(tmp_path / "letter.docx"))
    out = tmp_path / "letters"
    out.mkdir()
    (out / "ann.docx").write_bytes(engine.render(context(engine, images, picture=Picture)))
    pdf = convert([out / "ann.docx"], "pdf", out)[0]
    listed = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    sizes = {(int(line.split()[3]), int(line.split()[4])) for line in listed}
    assert {(300, 120), (240, 60), (64, 64)} <= sizes, "chart, signature and logo printed"
    page = subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf)],
                          capture_output=True, check=True).stdout
    _width, _height, rgb = _ppm_pixels(page)
    assert _has_colour(rgb, RED, 200), "the chart is visible on the page"
    assert _has_colour(rgb, BLUE, 50), "the signature is visible on the page"


def test_environment_is_the_sandbox() -> None:
    assert isinstance(refdesk_environment(), jinja2.sandbox.SandboxedEnvironment)


# -- the practice's signature ------------------------------------------------------------------
def test_the_practice_signature_image_from_config(tmp_path: Path,
                                                  images: dict[str, Path]) -> None:
    from refdesk.config import ConfigError, load_config
    from refdesk.merge.data import practice_context

    config = tmp_path / "config.toml"
    config.write_text('[practice]\nname = "Cedar Lane"\ntherapist = "Ann Ames"\n'
                      'signature_image = "signature.png"\n', encoding="utf-8")
    practice = load_config(config).practice
    assert practice.signature_image == str(tmp_path / "signature.png")
    document = docx.Document()
    document.add_paragraph("Yours, {{ practice.signature_image }}")
    document.add_paragraph("{{ practice.signature }}")
    document.save(tmp_path / "report.docx")
    engine = CompiledTemplate(tmp_path / "report.docx")
    whole = engine.render({"practice": practice_context(practice)})
    assert package_problems(whole) == []
    assert entries(whole)["word/media/image1.png"] == images["signature"].read_bytes()
    assert b'cy="540000"' in entries(whole)["word/document.xml"], "15 mm high"
    config.write_text('[practice]\nname = "Cedar Lane"\ntherapist = "Ann Ames"\n'
                      'signature_image = "sig.png"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="signature_image"):
        load_config(config)
    config.write_text('[practice]\nname = "Cedar Lane"\ntherapist = "Ann Ames"\n',
                      encoding="utf-8")
    assert practice_context(load_config(config).practice)["signature_image"] == ""
