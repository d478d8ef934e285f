"""MkDocs hook: render the reStructuredText markup of occmask's numpydoc docstrings.

The docstrings name other objects with roles such as ``:func:`occmask.perlin```,
link with ```text <url>`_`` and quote code with double backticks, also in type
descriptions. mkdocstrings renders those as literal text; this hook turns roles into
cross-references that mkdocs-autorefs resolves (plain code when the target is not
documented), rST links into links, and drops stray double backticks inside code.
"""

from __future__ import annotations

import re

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
