"""Progress bars: tqdm's notebook widget where ipywidgets is installed, its plain text bar everywhere else.

``tqdm.auto`` picks the widget in any Jupyter kernel and, when ipywidgets is missing, warns ("IProgress not
found") before falling back to the text bar; looking for ipywidgets first gives that same bar without the warning.
"""

from __future__ import annotations

import importlib.util


def tqdm(*args, **kwargs):
    """A progress bar: ``tqdm.auto.tqdm(*args, **kwargs)`` if ipywidgets can be imported, else ``tqdm.std.tqdm``."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm as bar
    else:
        from tqdm.std import tqdm as bar
    return bar(*args, **kwargs)
