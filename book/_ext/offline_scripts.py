"""Two fixes to the script tags of each page, so that the book reads offline without
errors.

1. sphinx-thebe adds its inline ``const THEBE_JS_URL = ...`` script twice (once with
   filename None, once with ''), so every page declared the same constant twice and the
   browser logged a SyntaxError. Keep the first of each identical script.
2. The ipywidgets HTML manager loads its fonts from ``<data-jupyter-widgets-cdn>
   @jupyter-widgets/html-manager/dist/``. The book serves that folder itself under
   ``_static/vendor/``, so point the attribute there, relative to each page.

The browser test (tests/browser) checks both: no JavaScript errors, no failed or
external requests."""

from __future__ import annotations

from sphinx.builders.html._assets import _JavaScript

WIDGETS_BUNDLE = "@jupyter-widgets/html-manager/dist/embed-amd.js"


def _key(script):
    attributes = getattr(script, "attributes", {})
    return (
        getattr(script, "filename", str(script)) or "",
        tuple(sorted(attributes.items())),
    )


def _fix_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, fixed = set(), []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        filename = getattr(script, "filename", None) or ""
        if str(filename).endswith(WIDGETS_BUNDLE):
            base = context["pathto"]("_static/vendor/", 1)
            script = _JavaScript(
                filename,
                priority=script.priority,
                **{**script.attributes, "data-jupyter-widgets-cdn": base},
            )
        fixed.append(script)
    context["script_files"] = fixed


def setup(app):
    app.connect("html-page-context", _fix_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
