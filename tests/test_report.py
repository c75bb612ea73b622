"""`simcollapse report`: the table's numbers, escaping, errors, and the page in headless Chromium."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.cli import main
from simcollapse.core import results
from simcollapse.plots import scalar_statistics
from simcollapse.report import comparison_rows, default_generations, format_number, render

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A Gaussian run (one figure) and a cats run (several figures), in directories with markup in their names."""
    root = tmp_path_factory.mktemp("runs")
    configs = {
        "gaussian <b>&amp;": make_config("gaussian", n_samples=10, generations=12, chains=400, record_every=2),
        "cats": make_config("categorical", n_samples=50, generations=12, chains=200, record_every=3),
    }
    dirs = {}
    for name, config in configs.items():
        dirs[name] = results.save(root / name, config, simulate(config), theory(config))
    return dirs


@pytest.fixture(scope="module")
def pages(runs):
    return {name: render(path) for name, path in runs.items()}


def test_rows_match_theory_within_four_standard_errors(runs):
    run = results.load(runs["gaussian <b>&amp;"])
    rows = comparison_rows(run, [0, 2, 12])
    assert {r["statistic"] for r in rows} >= {"var", "logvar", "w2sq", "mean"}
    for r in rows:
        values = run["stats"][r["statistic"]][list(run["generation"]).index(r["generation"])]
        assert r["mean"] == pytest.approx(values.mean()) and r["chains"] == values.size
        if r["generation"] == 0:  # the truth: every chain agrees, so there is no z-score
            assert np.isnan(r["z"]) and r["mean"] == pytest.approx(r["theory"], abs=1e-12), r
        elif r["statistic"] in ("logvar", "w2sq", "mean"):  # light-tailed: the z-score is meaningful
            assert abs(r["z"]) < 4, r


def test_default_generations_spread_over_the_recorded_ones():
    generation = np.arange(0, 101, 10)
    picks = default_generations(generation)
    assert picks[0] == 0 and picks[-1] == 100 and len(picks) == 5 and set(picks) <= set(generation)


def test_text_is_escaped(pages):
    page = pages["gaussian <b>&amp;"]
    assert "gaussian &lt;b&gt;&amp;amp;" in page and "<b>" not in page
    assert '&quot;policy&quot;: &quot;replace&quot;' in page


def test_unrecorded_generation_is_one_line_error(runs, capsys):
    assert main(["report", str(runs["cats"]), "--at", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--at" in err and "\n" not in err


def test_cli_writes_page_with_every_figure(runs, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(runs["cats"]), "--out", str(out), "--at", "0", "6", "12"]) == 0
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) >= 3
    assert "<td>gini_simpson</td>" in page and ">12<" in page


PROBE = """<script>
window.__problems = [];
window.addEventListener("error", e => __problems.push(String(e.message || (e.target && e.target.src) || "error")), true);
window.addEventListener("load", () => {
  const probe = document.createElement("div");
  probe.id = "probe";
  probe.dataset.widths = JSON.stringify([...document.images].map(i => i.complete ? i.naturalWidth : 0));
  probe.dataset.problems = JSON.stringify(__problems);
  document.body.appendChild(probe);
});
</script>"""


def _load_in_chromium(page: str, tmp_path: Path):
    """Open the page (with a probe script) in headless Chromium; return image widths, page errors, console lines."""
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<div id="probe" data-widths="([^"]*)" data-problems="([^"]*)">', done.stdout)
    assert match, "the probe did not run: " + done.stdout[-500:]
    unescape = lambda s: json.loads(s.replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return unescape(match.group(1)), unescape(match.group(2)), console


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium package is not installed (/usr/bin/chromium)")
def test_page_renders_in_headless_chromium(pages, tmp_path):
    page = pages["cats"]
    widths, problems, console = _load_in_chromium(page, tmp_path)
    assert len(widths) == page.count("<img ") >= 3
    assert all(w > 100 for w in widths), widths
    assert problems == [] and console == [], (problems, console)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium package is not installed (/usr/bin/chromium)")
def test_browser_check_can_fail(pages, tmp_path):
    """A corrupt figure is reported: the check above is not vacuous."""
    page = re.sub(r'base64,[A-Za-z0-9+/=]{40}', "base64,AAAA", pages["gaussian <b>&amp;"], count=1)
    widths, problems, _ = _load_in_chromium(page, tmp_path)
    assert widths == [0] and problems



@pytest.mark.parametrize("value,digits,text", [
    (1.97606e06, 4, "1.976 × 10⁶"), (1976.06, 4, "1,976"), (0.0123456, 4, "0.01235"), (9.99996, 4, "10.00"),
    (-3.14159, 4, "-3.142"), (2.5e-7, 2, "2.5 × 10⁻⁷"), (0.0, 2, "0"), (float("nan"), 4, "—"),
])
def test_numbers_have_significant_digits_not_raw_floats(value, digits, text):
    assert format_number(value, digits) == text


def test_table_follows_the_figure_order_and_shows_no_spread_as_zero(runs, pages):
    run = results.load(runs["gaussian <b>&amp;"])
    rows = comparison_rows(run, [0, 12])
    assert list(dict.fromkeys(r["statistic"] for r in rows)) == scalar_statistics(run)
    assert scalar_statistics(run)[:5] == ["mean", "var", "logvar", "w2sq", "kl"]  # the config's metrics first
    assert all(r["se"] == 0.0 and np.isnan(r["z"]) for r in rows if r["generation"] == 0)  # every chain is the truth
    table = pages["gaussian <b>&amp;"].split("<table>")[1].split("</table>")[0]
    assert not re.search(r"\de[+-]\d", table), "a raw float in the table"
    row0 = re.search(r"<tr><td>var</td><td class=\"num\">0</td>(.*?)</tr>", table).group(1)
    # mean, SE, theory, z at the truth: var = 1 in every chain
    assert re.findall(r"<td class=\"num\">([^<]*)</td>", row0)[:4] == ["1.000", "0", "1.000", "—"]


def test_a_directory_of_runs_gets_an_index_of_their_reports(runs, capsys):
    """`report DIR` on a reproduce output (run folders and the experiment's figures): each run's report and an
    index page linking them."""
    import html

    import matplotlib.image

    root = next(iter(runs.values())).parent
    matplotlib.image.imsave(root / "experiment_curves.png", np.random.default_rng(0).random((20, 20, 3)))
    assert main(["report", str(root)]) == 0
    index = (root / "index.html").read_text(encoding="utf-8")
    for name, run_dir in runs.items():
        assert (run_dir / "report.html").is_file()
        assert f'<a href="{html.escape(name)}/report.html">' in index
    assert '<img src="experiment_curves.png"' in index and "<td>categorical</td>" in index
    capsys.readouterr()
    assert main(["report", str(root), "--out", str(root / "x.html")]) == 2
    assert "leave --out out" in capsys.readouterr().err
