"""``simcollapse classroom cats | gaussian --out page.html``: one self-contained HTML page a teacher can drive in
front of a class, offline, in any browser.

* ``cats``: N cats, some blue, redrawn each generation from the colours of the last (the two-type categorical
  chain with temperature, min-p and a fresh real fraction). Three live chains are animated; the law of the blue
  count, P(blue lost by generation n), E share and E heterozygosity are exact, from the (N+1)-state
  Wright–Fisher chain solved in the page (docs/theory.md §C.2, §C.6–§C.8), for any N ≤ 500 and start.
* ``gaussian``: N(0, 1) refitted to M points per generation (ddof, real fraction): σ² collapse and W2² to the
  truth, 500 chains beside the exact expectations (docs/theory.md §G.2, §G.5, §P.2), dashed.

The query string sets the controls (``page.html?N=100&blue=10&generation=50``; the page writes its state back
there and into "Link to this state"), so a link reproduces what the class saw. The page's exact numbers are
held to ``simcollapse.theory`` at 10⁻⁶ by the tests. No JAX here: writing a page takes milliseconds.
"""

from __future__ import annotations

from . import page

__all__ = ["add_parser", "page"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "classroom",
        help="write one self-contained HTML page to drive in class: cats losing their blue ones, or a collapsing bell curve",
        description="Write a single HTML file (scripts and style inline, nothing fetched: it works from a USB stick) "
        "with sliders for the settings, a generation slider, play/pause/step, live chains and the exact curves "
        "computed in the page. Query parameters set the controls, e.g. page.html?N=100&blue=10&generation=50 "
        "(cats: N, blue, temperature, min_p, real_fraction, generation, horizon, seed; gaussian: M, ddof, "
        "real_fraction, generation, horizon, seed).",
    )
    parser.add_argument("name", nargs="?", default="cats", choices=sorted(page.PAGES), help="which page (default cats)")
    parser.add_argument("--out", default=None, help="HTML file to write (default: classroom-NAME.html)")
    parser.set_defaults(func=cmd_classroom)


def cmd_classroom(args) -> int:
    out = page.write(args.name, args.out or f"classroom-{args.name}.html")
    print(f"wrote {out}: open it in a browser (no network needed)")
    return 0
