"""The merge engine renders docxtpl's own test templates (../shared/corpus/docx-templates/) to
the same document.xml, headers and footers as docxtpl, and reports template errors by
paragraph."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import jinja2
import pytest
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, Listing, R, RichText
from jinja2.sandbox import SandboxedEnvironment

from refdesk.merge.engine import CompiledTemplate, TemplateError, refdesk_environment
from tests.conftest import CORPUS, need
from tests.docx_checks import package_problems

TEMPLATES = CORPUS / "docx-templates"


def _filters_env() -> jinja2.Environment:
    env = jinja2.Environment()
    env.filters["my_filterA"] = lambda value, arg: f"{value}-{arg}-A"
    env.filters["my_filterB"] = lambda value, arg: f"{value * arg}<B>"
    return env


def _rich() -> RichText:
    rt = RichText("plain, ")
    rt.add("bold", bold=True)
    rt.add(" red italic", italic=True, color="#ff0000")
    rt.add("\nnext line & <more>", underline=True)
    return rt


def _images(tpl: Any) -> dict[str, Any]:
    """docxtpl's inline_image test: pictures sized by width, by both and by height, in a
    table row loop; `tpl` is the DocxTemplate or the CompiledTemplate."""
    return {"myimage": InlineImage(tpl, str(TEMPLATES / "python_logo.png"), width=Mm(20)),
            "myimageratio": InlineImage(tpl, str(TEMPLATES / "python_jpeg.jpg"), width=Mm(30),
                                        height=Mm(60)),
            "frameworks": [{"image": InlineImage(tpl, str(TEMPLATES / f"{n}.png"),
                                                 height=Mm(10)), "desc": f"{n} & <co>"}
                           for n in ("django", "zope", "pyramid", "bottle", "tornado")]}


def _header_images(tpl: Any) -> dict[str, Any]:
    return {"inline_image": InlineImage(tpl, str(TEMPLATES / "django.png"), height=Mm(10)),
            "images": [InlineImage(tpl, str(TEMPLATES / "python.png"), height=Mm(10))
                       for _ in range(3)]}


def _links(tpl: Any) -> dict[str, Any]:
    rt = _rich()
    rt.add(" see ")
    rt.add("the clinic", url_id=tpl.build_url_id("https://clinic.example/a?b=1&c=2"))
    rt.add(" or ")
    rt.add("the map", url_id=tpl.build_url_id("https://map.example/"), underline=True)
    rt.add(" or again ")
    rt.add("the clinic", url_id=tpl.build_url_id("https://clinic.example/a?b=1&c=2"))
    outer = RichText("an example of ")
    outer.add(rt)  # nested, as in docxtpl's richtext test
    return {"example": outer}


#: template -> (context, or a function of the template making it, environment or None,
#: autoescape); contexts are this project's own
CASES: dict[str, tuple[Any, jinja2.Environment | None, bool]] = {
    "cellbg_tpl.docx": ({"alerts": [
        {"date": "2026-11-23", "type": "WARNING", "desc": "low & slow <x>", "bg": "FFAA00"},
        {"date": "2026-11-24", "type": "INFO", "desc": "fine", "bg": "00FF00"}]}, None, False),
    "comments_tpl.docx": ({}, None, False),
    "custom_jinja_filters_tpl.docx": ({"base_value_string": "s", "base_value_float": 1.5,
                                       "doc_no": 7},
                                      _filters_env(), False),
    "doc_properties_tpl.docx": ({"test": "a property"}, None, False),
    "inline_image_tpl.docx": (_images, None, True),
    "header_footer_inline_image_tpl.docx": (_header_images, None, False),
    "richtext_tpl.docx": (_links, None, False),
    "embedded_dummy.docx": ({}, None, False),
    "embedded_dummy2.docx": ({}, None, False),
    "embedded_static_docx.docx": ({}, None, False),
    "merge_docx_subdoc.docx": ({}, None, False),
    "dynamic_table_tpl.docx": ({"col_labels": ["fruit", "vegetable", "stone"],
                                "tbl_contents": [{"label": "yellow", "cols": ["banana", "capsicum",
                                                                             "pyrite"]},
                                                 {"label": "red", "cols": ["apple", "tomato",
                                                                          "cinnabar"]}]},
                               None, False),
    "embedded_main_tpl.docx": ({"name": "Embedded & Co"}, None, False),
    "embedded_embedded_docx_tpl.docx": ({"name": "Inner"}, None, False),
    "escape_tpl.docx": ({"myvar": R('"less" < "more" & a\nnew line'),
                         "myescvar": 'It can be escaped with a "|e" Jinja filter: < & >',
                         "nlnp": R("line\nbreak\aparagraph\fpage"),
                         "mylisting": Listing("listing\nwith\tlines & <tags>"),
                         "page_break": R("\f"), "new_listing": "plain\nlines\n",
                         "some_html": "<b>html</b> & co"}, None, False),
    "escape_tpl_auto.docx": ({"nested_dict": {"first": "<a>", "second": "b & c"},
                              "iteritems": lambda d: sorted(d.items()),
                              "autoescape": 'Escaped "str & <tag>"',
                              "autoescape_unicode": "unicode ☺ ‘quoted’"}, None, True),
    "footnotes_tpl.docx": ({}, None, False),
    "get_undeclared_variables.docx": ({"name": "Ann", "age": 41, "email": "a@b.example",
                                       "is_student": False, "has_degree": True,
                                       "degree_field": "physiology", "skills": ["a", "b"],
                                       "projects": [{"name": "p", "year": 2026,
                                                     "description": "d & e"}],
                                       "author": "x", "page_number": 1,
                                       "generation_date": "today", "company_name": "Co"},
                                      None, False),
    "header_footer_entities_tpl.docx": ({"title": "Title & <entities>"}, None, False),
    "header_footer_image_tpl.docx": ({"mycompany": "The Company"}, None, False),
    "horizontal_merge_tpl.docx": ({}, None, False),
    "less_cells_after_loop_tpl.docx": ({}, None, False),
    "merge_paragraph_tpl.docx": ({"living_in_town": True}, None, False),
    "module_execute_tpl.docx": ({"json_dict_var": {"a": 1}, "json_array_var": [1, 2],
                                 "json_string_var": "s", "json_int_var": 3,
                                 "json_float_var": 1.5, "json_true_var": True,
                                 "json_false_var": False, "json_none_var": None}, None, False),
    "multi_rendering_tpl.docx": ({"title": "First", "body": "Body text"}, None, False),
    "nested_for_tpl.docx": ({"dishes": [{"name": "soup", "ingredients": ["water", "salt"]},
                                        {"name": "bread", "ingredients": ["flour"]}],
                             "authors": [{"name": "A", "books": [{"title": "T1"},
                                                                {"title": "T2"}]}]},
                            None, False),
    "order_tpl.docx": ({"customer_name": "Smith & Jones <Clinic>",
                        "items": [{"desc": "massage", "qty": 2, "price": "95.00"},
                                  {"desc": "{{ not a tag }}", "qty": 1, "price": "10.00"}],
                        "total_price": "200.00", "is_paid": False, "in_europe": False,
                        "company_name": "Cedar Lane"}, None, False),
    "preserve_spaces_tpl.docx": ({"tag_1": "  spaced  ", "tag_2": "two"}, None, False),
    "replace_picture_tpl.docx": ({}, None, False),
    "richtext_and_if_tpl.docx": ({"foobar": _rich()}, None, False),
    "richtext_paragraph_tpl.docx": ({"example": _rich()}, None, False),
    "richtext_eastAsia_tpl.docx": ({"example": RichText("中文 text", font="eastAsia:SimSun"),
                                    "Chinese": "中文", "simsun": RichText("宋体", font="SimSun")},
                                   None, False),
    "vertical_merge_nested_tpl.docx": ({}, None, False),
    "vertical_merge_tpl.docx": ({"items": [{"desc": "a", "qty": 1, "price": 2},
                                           {"desc": "b", "qty": 3, "price": 4}],
                                 "total_price": 14, "category": "Category"}, None, False),
    "word2016_tpl.docx": ({"test_space": "   spaces   ", "test_tabs": "\ttabs\t",
                           "test_space_r": RichText("   rich spaces   "),
                           "test_tabs_r": RichText("\trich tabs\t")}, None, False),
}

def _subdoc(path: Path) -> Any:
    """A docxtpl sub-document, as docxtpl's header_footer and subdoc tests make it."""
    sd = DocxTemplate(str(path)).new_subdoc()
    sd.add_paragraph("a sub-document")
    return sd


#: templates the engine refuses with a TemplateError naming them and the feature: (context
#: made from the template's path, the words the message must hold)
REFUSED: dict[str, tuple[Any, str]] = {
    "header_footer_tpl.docx": (lambda p: {"title": "T", "company_name": "C", "date": "d",
                                          "mysubdoc": _subdoc(p)}, "sub-documents (new_subdoc)"),
    "header_footer_tpl_utf8.docx": (lambda p: {"title": "T", "company_name": "C",
                                               "date": "d", "mysubdoc": _subdoc(p)},
                                    "sub-documents (new_subdoc)"),
    "merge_docx_master_tpl.docx": (lambda p: {"mysubdoc": _subdoc(p)},
                                   "sub-documents (new_subdoc)"),
    "subdoc_tpl.docx": (lambda p: {"mysubdoc": [_subdoc(p)]}, "sub-documents (new_subdoc)"),
    "template_error_tpl.docx": (lambda p: {}, "endif"),
}


def _engine_env(env: jinja2.Environment | None, autoescape: bool) -> jinja2.Environment:
    """refdesk's sandbox, with the case's filters and docxtpl's lenient undefined (the corpus
    leaves fields out): parity is checked on the environment refdesk renders with."""
    ours = refdesk_environment()
    assert isinstance(ours, SandboxedEnvironment)
    ours.undefined = jinja2.Undefined
    ours.autoescape = autoescape
    if env is not None:
        ours.filters.update(env.filters)
    return ours


@pytest.fixture(scope="module")
def templates() -> Path:
    need(TEMPLATES.is_dir(), f"docxtpl's templates are not at {TEMPLATES}")
    return TEMPLATES


def test_every_template_is_covered_or_refused(templates: Path) -> None:
    names = {p.name for p in templates.glob("*.docx")}
    assert names == set(CASES) | set(REFUSED)


def _docxtpl(path: Path, context: Any, env: jinja2.Environment | None,
             autoescape: bool) -> dict[str, bytes]:
    tpl = DocxTemplate(str(path))
    tpl.render(context(tpl) if callable(context) else context, env, autoescape=autoescape)
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_document_xml_as_docxtpl(templates: Path, name: str) -> None:
    context, env, autoescape = CASES[name]
    expected = _docxtpl(templates / name, context, env, autoescape)
    engine = CompiledTemplate(templates / name, _engine_env(env, autoescape))
    if callable(context):
        context = context(engine)
    ours = engine.render_parts(context)
    assert "docProps/core.xml" in ours, "the properties render as docxtpl's"
    for part, data in ours.items():
        assert data == expected[part], f"{name}: {part} differs from docxtpl's"
    whole = engine.render(context)
    assert package_problems(whole) == []
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        assert zf.read("word/document.xml") == expected["word/document.xml"]
        # the same parts, pictures included (word/media/imageN.ext named as docxtpl names them)
        assert {n for n in zf.namelist() if not n.endswith("/")} == set(expected)
        for name_ in expected:
            if name_.startswith("word/media/"):
                assert zf.read(name_) == expected[name_]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_the_engine_does_not_do_is_refused_by_name(templates: Path, name: str) -> None:
    make, words = REFUSED[name]
    with pytest.raises(TemplateError) as err:
        engine = CompiledTemplate(templates / name, _engine_env(None, False))
        engine.render(make(templates / name))
    assert err.value.message.startswith(f"{name}") and words in err.value.message
    assert "Traceback" not in err.value.message


def test_docxtpl_calls_the_engine_does_not_take_are_refused(templates: Path) -> None:
    engine = CompiledTemplate(templates / "header_footer_image_tpl.docx")
    for call in (engine.new_subdoc, lambda: engine.replace_media("a.png", "b.png"),
                 lambda: engine.replace_pic("a.png", "b.png"),
                 lambda: engine.replace_embedded("a.docx", "b.docx"),
                 lambda: engine.replace_zipname("a.xlsx", "b.xlsx")):
        with pytest.raises(TemplateError, match=r"^header_footer_image_tpl\.docx: .* is not "
                                                 r"supported by refdesk's merge"):
            call()


def test_render_again_gives_the_same_document(templates: Path) -> None:
    context, env, autoescape = CASES["order_tpl.docx"]
    engine = CompiledTemplate(templates / "order_tpl.docx", _engine_env(env, autoescape))
    assert engine.render_parts(context) == engine.render_parts(context)


def test_a_broken_template_names_the_paragraph(templates: Path) -> None:
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(templates / "template_error_tpl.docx")
    message = err.value.message
    assert message.startswith("template_error_tpl.docx, the body, paragraph ")
    assert "endif" in message


def test_a_field_missing_from_the_data_names_the_paragraph(templates: Path) -> None:
    engine = CompiledTemplate(templates / "order_tpl.docx")
    context = dict(CASES["order_tpl.docx"][0])
    del context["customer_name"]
    with pytest.raises(TemplateError) as err:
        engine.render_parts(context)
    assert "order_tpl.docx, the body, paragraph" in err.value.message
    assert "customer_name" in err.value.message


def test_fields_lists_dotted_paths(templates: Path) -> None:
    engine = CompiledTemplate(templates / "nested_for_tpl.docx")
    assert engine.variables() == {"dishes", "authors"}
    engine = CompiledTemplate(templates / "get_undeclared_variables.docx")
    assert "email" in engine.fields()


def test_a_tag_word_split_across_runs_still_renders(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph()
    for piece in ("Dear {{ provider.", "salutation }}", ", your patient {", "{ client.name }}"):
        run = paragraph.add_run(piece)
        run.bold = piece.startswith(",")  # different formatting keeps Word's runs apart
    path = tmp_path / "split.docx"
    document.save(path)
    engine = CompiledTemplate(path)
    assert engine.fields() == {"provider.salutation", "client.name"}
    parts = engine.render_parts({"provider": {"salutation": "Dr. Ames"},
                                 "client": {"name": "Ann & Bo"}})
    text = parts["word/document.xml"].decode()
    assert "Dr. Ames" in text and "Ann &amp; Bo" in text and "{{" not in text


def test_only_a_sandboxed_environment_renders(templates: Path) -> None:
    with pytest.raises(TypeError, match="sandboxed"):
        CompiledTemplate(templates / "order_tpl.docx", jinja2.Environment(autoescape=True))
