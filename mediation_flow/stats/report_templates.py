"""The report's sentence templates: the packaged ``templates/report_sentences.yaml``, overridden by a file of
the same name in the data folder (``templates/``, then ``templates/<township code>/``), so a township words
its report its own way (大事不出村 instead of the seed's 大事不出社区) without touching the code."""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mediation_flow.errors import InvalidData
from mediation_flow.store.config import get_settings

FILE_NAME = "report_sentences.yaml"


@lru_cache
def packaged_templates() -> dict[str, Any]:
    text = resources.files("mediation_flow.stats").joinpath(f"templates/{FILE_NAME}").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s entries: mappings merged entry by entry, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise InvalidData([{"field": "templates", "message": f"报告句子模板文件无法读取：{path.name}"}]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidData([{"field": "templates", "message": f"报告句子模板文件格式不对：{path.name}"}])
    return data


def load_templates(township_code: str | None = None, data_dir: Path | None = None) -> dict[str, Any]:
    """The templates for ``township_code``'s reports: packaged, then the data folder's, then the township's."""
    folder = Path(data_dir if data_dir is not None else get_settings().data_dir) / "templates"
    templates = packaged_templates()
    candidates = [folder / FILE_NAME]
    if township_code:
        candidates.append(folder / Path(township_code).name / FILE_NAME)
    for path in candidates:
        if path.is_file():
            templates = merged(templates, _read(path))
    return templates
