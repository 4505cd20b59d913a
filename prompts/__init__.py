"""Prompt templates as data files, loaded by name and rendered strictly.

Templates are ``prompts/<name>.txt`` with ``${variable}`` placeholders
(``string.Template``).  Rendering fails on a missing *or* an unexpected
variable, so a template and its caller cannot drift apart silently.

>>> render("refusal", reason="简报未涉及大同市")
'简报中未找到相关信息：简报未涉及大同市。'
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


class PromptError(ValueError):
    """A template is missing, or rendered with missing/unexpected variables."""


@cache
def load(name: str) -> Template:
    try:
        text = resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"no prompt template named {name!r} in prompts/") from exc
    return Template(text.rstrip("\n"))


def variables(name: str) -> set[str]:
    """Placeholder names of a template."""
    return set(load(name).get_identifiers())


def render(name: str, **values: object) -> str:
    template = load(name)
    expected = variables(name)
    missing, unexpected = expected - values.keys(), values.keys() - expected
    if missing or unexpected:
        raise PromptError(
            f"prompt {name!r}: missing {sorted(missing) or 'nothing'}, unexpected {sorted(unexpected) or 'nothing'}"
        )
    return template.substitute({k: str(v) for k, v in values.items()})


def names() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("prompts").iterdir() if p.name.endswith(".txt"))
