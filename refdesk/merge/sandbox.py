"""What a template may do: print the data, test it, loop over it and use Jinja's filters.

Templates travel between practices (a colleague's letter, one found online), so a template is
untrusted code. Every template and every text setting of a job is rendered in Jinja's immutable
sandbox, without the default globals that are the usual way out of a template (`cycler`,
`joiner`, `namespace`, `lipsum`), and is checked before anything is rendered: a tag that names a
private attribute (`__class__`, `_x`), one of those globals, `self`, or includes another
template is refused with the place it stands. The sandbox still guards at render time what the
check cannot see.
"""

from __future__ import annotations

import operator
import re
from typing import Any

import jinja2
import markupsafe
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

__all__ = ["SecurityError", "environment", "finalize", "protect", "refusal", "refusal_message",
           "runtime_message", "template_lineno"]

#: Jinja's default globals no letter needs; `range` and `dict` stay (the sandbox caps range).
DROPPED_GLOBALS = ("cycler", "joiner", "namespace", "lipsum")
#: Names a template may not read, whatever the data holds: the way into Jinja's internals or
#: into a web framework's settings in templates written for one.
FORBIDDEN_NAMES = frozenset({*DROPPED_GLOBALS, "self", "config", "request", "os"})
#: The biggest string, list or number a template may build with `*` or `**`.
MAX_SIZE = 100_000

_UNSAFE_UNDERSCORE = re.compile(r"_(?=[{}%])|(?<=[{}%])_")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` capped so a tag cannot fill the memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(right, int) and abs(right) > 64 and left not in (0, 1, -1):
                raise OverflowError("a power too large for a template")
            return operator.pow(left, right)
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                    len(seq) * times > MAX_SIZE:
                raise OverflowError("a repeated text or list too large for a template")
        return operator.mul(left, right)


def environment(**options: Any) -> jinja2.Environment:
    """The sandbox every template and text setting renders in (`options` as for Jinja's
    Environment): a field the data lacks is an error, not an empty string."""
    env = _Sandbox(undefined=jinja2.StrictUndefined, **options)
    for name in DROPPED_GLOBALS:
        env.globals.pop(name, None)
    return env


def protect(text: str) -> str:
    """`text` with every character that could take part in docxtpl's `{_{ }_} {_% %_}` escapes
    written as an XML character reference, so docxtpl's un-escaping after rendering leaves the
    data as typed: an underscore next to a brace or percent sign, and a brace, percent sign or
    underscore at either end (where the template's own text could complete a sequence)."""
    if not text or not ("_" in text or text[0] in "{}%" or text[-1] in "{}%"):
        return text
    text = _UNSAFE_UNDERSCORE.sub("&#95;", text)
    if text[0] in "{}%_":
        text = f"&#{ord(text[0])};{text[1:]}"
    if text[-1] in "{}%_":
        text = f"{text[:-1]}&#{ord(text[-1])};"
    return text


@jinja2.pass_eval_context
def finalize(eval_ctx: Any, value: Any) -> Any:
    """What a `{{ tag }}` prints: the value escaped for XML as Jinja would, then protected from
    docxtpl's un-escaping (see `protect`)."""
    if eval_ctx.autoescape:
        text = value.__html__() if hasattr(value, "__html__") else markupsafe.escape(value)
    else:
        text = str(value)
    return markupsafe.Markup(protect(str(text)))


def _private(value: Any) -> bool:
    """A string naming a private attribute, alone or in a dotted path (`a.__class__`)."""
    return isinstance(value, str) and any(p.startswith("_") for p in value.split("."))


def refusal(tree: nodes.Template) -> tuple[int, str] | None:
    """The first tag a template may not have: its line and what it reaches; None when none."""
    found: list[tuple[int, str]] = []
    for node in tree.find_all(nodes.Node):
        what = _refused(node)
        if what:
            found.append((node.lineno, what))
    return min(found) if found else None


def _refused(node: nodes.Node) -> str:
    if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
        return "another template ({% include %}, {% import %} and {% extends %})"
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"the private attribute .{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and \
            _private(node.arg.value):
        return f"the private attribute [{node.arg.value!r}]"
    if isinstance(node, nodes.Name) and (node.name in FORBIDDEN_NAMES or
                                         node.name.startswith("_")):
        return f"the name {node.name!r}"
    if isinstance(node, nodes.Filter | nodes.Test | nodes.Call):
        args = [*node.args, *(k.value for k in node.kwargs)]
        for arg in args:
            if isinstance(arg, nodes.Const) and _private(arg.value):
                return f"the private attribute {arg.value!r}"
    return ""


class Refused(Exception):
    """A template's tag reaches past the data: `lineno` is its line, `what` what it reaches."""

    def __init__(self, lineno: int, what: str) -> None:
        super().__init__(what)
        self.lineno = lineno
        self.what = what


def compile_checked(env: jinja2.Environment, text: str) -> jinja2.Template:
    """`text` compiled in `env`, after every tag was checked (refusal): raises Refused, or
    jinja2's TemplateSyntaxError for a tag that does not parse."""
    tree = env.parse(text)
    refused = refusal(tree)
    if refused:
        raise Refused(*refused)
    return env.from_string(tree)


def refusal_message(what: str) -> str:
    """The end of the message for a refused tag."""
    return (f"the tag reaches {what}, which templates may not use. A template may print the "
            "data's fields, test them with if, loop over lists with for and use Jinja's "
            "filters; remove the tag, or use a template you trust")


def runtime_message(exc: BaseException, fix: str = "fix the tag in Word") -> str:
    """A rendering failure in plain words, then `fix`; never the data's values."""
    if isinstance(exc, SecurityError):
        return ("the tag tried to reach something templates may not use. A template may print "
                "the data's fields, test them with if, loop over lists with for and use "
                "Jinja's filters; remove the tag, or use a template you trust")
    if isinstance(exc, ZeroDivisionError):
        return f"the tag divides by zero; {fix}"
    if isinstance(exc, OverflowError):
        return f"the tag makes a number, text or range too large; {fix}"
    if isinstance(exc, jinja2.TemplateError):
        message = getattr(exc, "message", None) or str(exc)
        return f"{message.rstrip('.')}; {fix}"
    return f"the tag cannot be worked out ({type(exc).__name__}); {fix}"


def template_lineno(tb: Any) -> int | None:
    """The line of the template a traceback stopped in (Jinja keeps template lines there)."""
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno
