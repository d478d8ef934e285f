"""MkDocs hooks: the built-in families' pages and API entries, and numpydoc's reStructuredText markup.

The built-in families are the registry's one line (``occmask.families.BUILTIN``;
importing occmask is light: no Numba, no torch): each gets its page in
the "Families" section of the navigation, titled by the page's heading, and its
function in the API reference where ``api.md`` holds :data:`FAMILY_FUNCTIONS`.

The docstrings name other objects with roles such as ``:func:`occmask.perlin```,
link with ```text <url>`_`` and quote code with double backticks, also in type
descriptions. mkdocstrings renders those as literal text; this hook turns roles into
cross-references that mkdocs-autorefs resolves (plain code when the target is not
documented), rST links into links, and drops stray double backticks inside code.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent
#: The line of ``api.md`` that stands for the family functions, one ``:::`` entry each.
FAMILY_FUNCTIONS = "<!-- the function of every built-in family -->"


def builtin_families() -> tuple[str, ...]:
    """The built-in families in registry order."""
    from occmask.families import BUILTIN

    return BUILTIN


def family_pages() -> list[dict[str, str]]:
    """Navigation entries of the families' pages: ``{title: "families/<name>.md"}``."""
    pages = []
    for name in builtin_families():
        path = f"families/{name}.md"
        heading = (DOCS / path).read_text(encoding="utf-8").splitlines()[0]
        pages.append({heading.lstrip("# ").split(":")[0]: path})
    return pages


def api_markdown(markdown: str) -> str:
    """``api.md`` with the family functions' entries in place of :data:`FAMILY_FUNCTIONS`."""
    entries = "\n\n".join(f"::: occmask.{name}" for name in builtin_families())
    return markdown.replace(FAMILY_FUNCTIONS, entries)


def on_config(config, **kwargs):
    for section in config["nav"]:
        if isinstance(section, dict) and "Families" in section:
            section["Families"] = [*family_pages(), *section["Families"]]
    return config


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    return api_markdown(markdown) if page.file.src_uri == "api.md" else markdown


_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc):<code>(~?)([\w.]+)</code>")
_LINK = re.compile(r"<code>([^<&]+?) &lt;(https?://[^&\s]+)&gt;</code>_")
_CODE = re.compile(r"<code>([^<]*``[^<]*)</code>")

#: Short names used inside a module's own docstrings, and the object they mean.
_QUALIFY = {
    "occlude": "occmask.torch.occlude",
    "Occlude": "occmask.torch.Occlude",
    "make_mask": "occmask.torch.Occlude.make_mask",
    "last_seeds": "occmask.torch.Occlude.last_seeds",
    "masks": "occmask.testing.masks",
    "mask_shapes": "occmask.testing.mask_shapes",
    "coverages": "occmask.testing.coverages",
    "seeds": "occmask.testing.seeds",
    "check_exact": "occmask.testing.check_exact",
    "check_deterministic": "occmask.testing.check_deterministic",
    "check_stationary": "occmask.testing.check_stationary",
    "quantile_curve": "occmask.calibrate.quantile_curve",
}


def _role(match: re.Match) -> str:
    tilde, name = match.groups()
    target = name if name.startswith("occmask.") else _QUALIFY.get(name, name)
    shown = name.rsplit(".", 1)[-1] if tilde else name
    return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, **kwargs) -> str:
    html = _ROLE.sub(_role, html)
    html = _LINK.sub(r'<a href="\2">\1</a>', html)
    return _CODE.sub(lambda m: "<code>" + m.group(1).replace("``", "") + "</code>", html)
