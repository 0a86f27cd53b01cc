"""One setting turns on the book's launch buttons: ``repository.url`` (_config.yml).

With the URL of the book's repository (on GitHub), each chapter page gets a button that
opens its notebook in Google Colab, where the notebook's first cell installs ``normreg``
from that repository (tests/setup_cells.py writes the URL into that cell). With the URL
empty, the page gets no launch button at all: no link to a repository that does not
exist."""

from __future__ import annotations

COLAB = "https://colab.research.google.com"


def _launch_buttons(app, config):
    options = config.html_theme_options
    url = (options.get("repository_url") or "").strip()
    buttons = dict(options.get("launch_buttons") or {})
    if url:
        buttons["colab_url"] = COLAB
    else:
        for key in ("binderhub_url", "jupyterhub_url", "colab_url", "jupyterlite_url"):
            buttons[key] = ""
        buttons["thebe"] = False
    options["launch_buttons"] = buttons


def setup(app):
    app.connect("config-inited", _launch_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
