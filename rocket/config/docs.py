"""The README's settings table, generated from the settings rows so it cannot drift.

``python -m rocket.config.docs [README.md]`` rewrites the text between the
``<!-- settings:start -->`` and ``<!-- settings:end -->`` markers;
``rocket --settings-markdown`` prints the table. A unit test fails when README is stale.
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional, Sequence

from rocket.config.argv import flag_aliases, negative_flag
from rocket.config.settings import SAME_DEFAULT, Setting
from rocket.config.sources import (
    PLATFORM_DEFAULTS,
    accepted_form,
    all_settings,
    default_text,
    env_name,
    flag_name,
)

START = "<!-- settings:start -->"
END = "<!-- settings:end -->"

def _default(setting: Setting, compat: bool = False) -> str:
    text = default_text(setting, compat)
    if text in ("unset", "none") or setting.name in PLATFORM_DEFAULTS:
        return text
    return "`" + text.replace("|", "\\|") + "`"


def default_cell(setting: Setting) -> str:
    """The default, and the compatibility APIs' own default when the row has one."""
    text = _default(setting)
    if setting.compat_default is not SAME_DEFAULT:
        text += f" (`Rocket(...)`: {_default(setting, compat=True)})"
    return text


def rows() -> List[Dict[str, str]]:
    """One dict per setting: name, flags (as :mod:`rocket.config.argv` makes them), env,
    accepted values, default, help (markdown-escaped)."""
    out = []
    for setting in all_settings():
        if setting.name == "app":
            flag = "`MODULE:APP` (positional)"
        else:
            flag = f"`{flag_name(setting.name)}`"
        negative = negative_flag(setting)
        if negative is not None:
            flag += f" / `{negative}`"
        flag += "".join(f", `{flag_name(alias)}`" for alias in flag_aliases(setting.name))
        out.append({
            "name": setting.name,
            "flag": flag,
            "env": f"`{env_name(setting.name)}`",
            "accepts": accepted_form(setting).replace("|", "\\|"),
            "default": default_cell(setting),
            "help": setting.help.replace("|", "\\|"),
        })
    return out


def settings_markdown() -> str:
    """The settings as a markdown table."""
    lines = ["| setting (TOML key) | command line | environment | accepts | default | meaning |",
             "|---|---|---|---|---|---|"]
    for r in rows():
        lines.append(f"| `{r['name']}` | {r['flag']} | {r['env']} | {r['accepts']} | "
                     f"{r['default']} | {r['help']} |")
    return "\n".join(lines)


def splice(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``; ValueError if no markers."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {START} ... {END} block")
    return text[:start + len(START)] + "\n" + table + "\n" + text[end:]


def maybe_stale_readme(path: str) -> Optional[str]:
    """The up-to-date README text when ``path`` is out of date, else None."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fresh = splice(text, settings_markdown())
    return fresh if fresh != text else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Rewrite the settings block of README.md (or the path given); returns 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = args[0] if args else "README.md"
    fresh = maybe_stale_readme(path)
    if fresh is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(fresh)
        print(f"updated the settings table in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
