"""Fill a printout template: the township's own (``<data folder>/templates/<name>.docx``) when there is one,
else the default shipped in ``templates/``.

docxtpl runs the template's Jinja in a sandbox (a template is a file someone edited, not our code) with
autoescaping (stored text cannot break the XML) and strict names (a misspelt placeholder is an error that names
it, not a silent blank). Every way a township's file can fail — a broken tag, an unknown field, not a .docx —
becomes ``PrintTemplateInvalid`` with a Chinese message, never a server error.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate  # type: ignore[import-untyped]

# Jinja is docxtpl's template language here (Word files), not the web layer's: the one core import of it.
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError  # noqa: TID251
from jinja2.sandbox import SandboxedEnvironment  # noqa: TID251
from lxml.etree import XMLSyntaxError  # type: ignore[import-untyped]

from mediation_flow.display.exports import safe_text
from mediation_flow.errors import PrintTemplateInvalid

log = logging.getLogger(__name__)
DEFAULTS = Path(__file__).resolve().parent / "templates"
OWN_FOLDER = "templates"  # inside the data folder


def template_path(name: str, data_dir: Path) -> Path:
    """The template used for ``name``: the township's own copy when the data folder has one."""
    own = data_dir / OWN_FOLDER / f"{name}.docx"
    return own if own.is_file() else DEFAULTS / f"{name}.docx"


def _clean(value: Any) -> Any:
    """Every string made safe for the XML (``display.exports``), through lists and mappings; a line break
    typed into a text becomes a new paragraph (docxtpl's ``\\a``), so a justified line before it is not stretched."""
    if isinstance(value, str):
        return safe_text(value).replace("\n", "\a")
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _where(exc: TemplateError) -> str:
    """The text of the paragraph where Jinja stopped (docxtpl keeps the lines around it, tags stripped)."""
    lines = [line.strip() for line in getattr(exc, "docx_context", None) or []]
    middle = lines[3] if len(lines) > 3 else next((line for line in lines if "{" in line), "")
    return f"（出错处：“{middle[:60]}”）" if middle else ""


def _reason(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"占位符写法不对，{{{{ }}}} 或 {{% %}} 没有成对或拼写有误{_where(exc)}"
    if isinstance(exc, UndefinedError):
        found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        name = next((g for g in found.groups() if g), "") if found else ""
        return f"模板用到的“{name}”不是可填写的内容" if name else "模板用到了不可填写的内容"
    if isinstance(exc, TemplateError):
        return f"模板无法填写{_where(exc)}"
    return "文件不是可以打开的 .docx 文件"


def render(name: str, context: Mapping[str, Any], *, data_dir: Path) -> bytes:
    """The filled template ``name`` as .docx bytes; PrintTemplateInvalid when the template cannot be filled."""
    path = template_path(name, data_dir)
    try:
        document = DocxTemplate(str(path))
        environment = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
        document.render(_clean(context), jinja_env=environment)
        buffer = io.BytesIO()
        document.save(buffer)
    except (TemplateError, PackageNotFoundError, zipfile.BadZipFile, KeyError, XMLSyntaxError) as exc:
        log.warning("printout template %s cannot be filled: %r", path, exc)
        own = path.parent != DEFAULTS
        fix = "请管理员改正或删去本乡镇的这个模板（删去后使用默认模板）" if own else "请联系管理员"
        raise PrintTemplateInvalid(f"打印模板“{name}.docx”有误：{_reason(exc)}。{fix}。", template=name) from exc
    return buffer.getvalue()
