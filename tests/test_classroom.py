"""`simcollapse classroom`: the pages are self-contained and labelled, their exact numbers (computed in the page's
JS, run in headless Chromium) equal `simcollapse.theory` to 1e-6 for many settings, a link's query string sets the
state, and moving a control changes the picture."""

import html
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from simcollapse.api import make_config, theory
from simcollapse.classroom import page
from simcollapse.theory import gaussian as gaussian_theory

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium package is not installed (/usr/bin/chromium)")
TOLERANCE = 1e-6
GENERATIONS = 1000  # what the pages compute, whatever generation is shown


def _chromium(tmp_path: Path, url: str, *mode: str) -> str:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1600,1400", *mode, url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _dump(tmp_path: Path, url: str) -> str:
    return _chromium(tmp_path, url, "--dump-dom")


def _page_url(tmp_path: Path, name: str, query: str = "") -> str:
    out = page.write(name, tmp_path / f"{name}.html")
    return out.as_uri() + (f"?{query}" if query else "")


def _exact_data(dom: str) -> dict:
    match = re.search(r'<script type="application/json" id="exact-data">(\{.*?\})</script>', dom, re.S)
    assert match, "the page did not publish its numbers: " + dom[-500:]
    return json.loads(html.unescape(match.group(1)))


def _readout(dom: str, element_id: str) -> tuple[float, str]:
    match = re.search(rf'<output id="{element_id}" data-value="([^"]*)">([^<]*)</output>', dom)
    assert match, f"no read-out #{element_id}"
    return float(match.group(1)), match.group(2)


# ----------------------------------------------------------------------------------------------------
# The file itself
# ----------------------------------------------------------------------------------------------------


class _Inventory(HTMLParser):
    """Every tag with its attributes, the ids of every <label for=…>, and what would be fetched."""

    def __init__(self):
        super().__init__()
        self.tags, self.label_for, self.fetched = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "label" and "for" in attrs:
            self.label_for.add(attrs["for"])
        for key in ("src", "href"):
            if key in attrs and not (attrs[key].startswith("?") or attrs[key].startswith("#")):
                self.fetched.append(attrs[key])


@pytest.mark.parametrize("name", sorted(page.PAGES))
def test_page_is_one_self_contained_file_with_labelled_controls(name):
    text = page.render(name)
    inventory = _Inventory()
    inventory.feed(text)
    assert inventory.fetched == [], inventory.fetched  # no script, style, image or font from anywhere
    for needle in ("@import", "url(", "fetch(", "XMLHttpRequest", "http://", "https://", "{{"):
        assert needle not in text, needle
    scripts = [attrs for tag, attrs in inventory.tags if tag == "script"]
    assert len(scripts) == len(page.PAGES[name]["scripts"]) + 1  # the sources and the JSON of the exact numbers
    controls = [(tag, attrs) for tag, attrs in inventory.tags if tag in ("input", "select")]
    assert len(controls) >= 8
    for tag, attrs in controls:  # every control has an accessible name: a <label for> or an aria-label
        assert attrs.get("id") in inventory.label_for or attrs.get("aria-label"), (tag, attrs)
    buttons = {attrs.get("id") for tag, attrs in inventory.tags if tag == "button"}
    assert {"play", "step", "step-back", "restart"} <= buttons
    assert 'id="p-lost"' in text if name == "cats" else 'id="e-var"' in text


def test_command_writes_the_page_without_importing_jax(tmp_path):
    out = tmp_path / "stick" / "page.html"
    code = ("import sys\nfrom simcollapse.cli import main\n"
            f"assert main(['classroom', '--out', {str(out)!r}]) == 0\n"
            f"assert main(['classroom', 'gaussian', '--out', {str(out.with_name('g.html'))!r}]) == 0\n"
            "assert 'jax' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == page.render("cats")
    assert "Model collapse of a bell curve" in out.with_name("g.html").read_text(encoding="utf-8")


def test_page_sources_are_declared_package_data():
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["simcollapse"]
    used = {"page.html", "style.css", *(f"{n}.html" for n in page.PAGES)}
    used |= {script for spec in page.PAGES.values() for script in spec["scripts"]}
    assert all(any(fnmatch.fnmatch(f"classroom/{f}", pattern) for pattern in declared) for f in used)


# ----------------------------------------------------------------------------------------------------
# Exact numbers: the pages' own JS modules, many settings in one browser run, against simcollapse.theory
# ----------------------------------------------------------------------------------------------------


def _cats_settings() -> list[dict]:
    """Edge cases, then random settings over the page's ranges (fixed seed)."""
    cases = [
        dict(N=100, blue=10, temperature=1.0, minP=0.0, realFraction=0.0),   # the README's cats
        dict(N=500, blue=1, temperature=1.0, minP=0.0, realFraction=0.0),    # largest N, one blue cat
        dict(N=500, blue=250, temperature=1.0, minP=0.0, realFraction=0.0),  # widest rows
        dict(N=2, blue=1, temperature=1.0, minP=0.0, realFraction=0.0),      # smallest N
        dict(N=2, blue=1, temperature=0.5, minP=0.0, realFraction=0.5),
        dict(N=100, blue=10, temperature=1.0, minP=0.05, realFraction=0.0),  # docs/theory.md §C.8
        dict(N=100, blue=10, temperature=0.8, minP=0.0, realFraction=0.0),   # docs/theory.md §C.7
        dict(N=100, blue=10, temperature=1.0, minP=0.0, realFraction=0.1),   # docs/theory.md §C.6
        dict(N=300, blue=60, temperature=1.0, minP=0.0, realFraction=1.0),   # every cat real
        dict(N=41, blue=40, temperature=2.0, minP=0.5, realFraction=0.25),
    ]
    rng = np.random.default_rng(2024)
    for _ in range(10):
        N = int(rng.integers(2, 501))
        cases.append(dict(N=N, blue=int(rng.integers(1, N)), temperature=float(rng.choice([1.0, rng.uniform(0.5, 2)]).round(2)),
                          minP=float(rng.choice([0.0, rng.uniform(0, 0.5)]).round(2)),
                          realFraction=float(rng.choice([0.0, rng.uniform(0, 1)]).round(2))))
    return [dict(case, generations=GENERATIONS) for case in cases]


def _cats_config(s: dict):
    """The run config a cats page stands for (the command its footer prints)."""
    N, blue = s["N"], s["blue"]
    values = dict(probs0=[1 - blue / N, blue / N], n_samples=N, generations=s["generations"],
                  temperature=s["temperature"], min_p=s["minP"])
    if s["realFraction"] > 0:
        values |= dict(policy="fresh_real", real_fraction=s["realFraction"])
    return make_config("categorical", **values)


def _run_modules(tmp_path: Path, scripts: tuple[str, ...], call: str, cases: list[dict]) -> list[dict]:
    """Run `call` (a JS expression of `c`) on each case in the page's own modules; return the results."""
    harness = (f"<!doctype html><html><body><pre id='out'></pre>{page.inline_scripts(scripts)}<script>\n"
               f"const cases = {json.dumps(cases)};\n"
               f"document.getElementById('out').textContent = JSON.stringify(cases.map((c) => {call}));\n"
               "</script></body></html>")
    path = tmp_path / "harness.html"
    path.write_text(harness, encoding="utf-8")
    dom = _dump(tmp_path, path.as_uri())
    match = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert match and match.group(1), dom[-1000:]
    return json.loads(html.unescape(match.group(1)))


def _check_curves(tmp_path: Path, scripts: tuple[str, ...], call: str, cases: list[dict], reference) -> None:
    """Every curve the page's modules compute for each case (`call`, see `_run_modules`) within TOLERANCE of
    the Python one, ``reference(case, got)`` (a dict of curves by key); print the largest difference."""
    worst = 0.0
    for s, got in zip(cases, _run_modules(tmp_path, scripts, call, cases), strict=True):
        for key, expected in reference(s, got).items():
            difference = np.max(np.abs(np.asarray(got[key]) - expected))
            assert difference <= TOLERANCE, (s, key, difference)
            worst = max(worst, difference)
    print(f"largest difference over {len(cases)} settings: {worst:.2e}")


@needs_chromium
def test_cats_exact_curves_equal_the_markov_solver(tmp_path):
    def reference(s, got):
        expected = theory(_cats_config(s))
        pairs = {"lost": expected["P_lost"][:, 1], "share": expected["E_p_min_group"],
                 "heterozygosity": expected["E_gini_simpson"]}
        if s["realFraction"] == 0:
            pairs["fixed"] = expected["P_lost"][:, 0]  # every cat blue = yellow lost
        return pairs

    call = ("((r) => ({lost: [...r.lost], fixed: [...r.fixed], share: [...r.share], "
            "heterozygosity: [...r.heterozygosity]}))(WrightFisher.curves(c))")
    _check_curves(tmp_path, ("numeric.js", "wright_fisher.js"), call, _cats_settings(), reference)


def _gaussian_settings() -> list[dict]:
    cases = [dict(M=M, ddof=d, realFraction=0.0) for M in (2, 3, 10, 100, 1000) for d in (0, 1)]
    cases += [dict(M=100, ddof=0, realFraction=0.004),  # ρM rounds to no real point: the replace curves
              dict(M=100, ddof=1, realFraction=0.005),  # ⌊0.5 + ½⌋ = 1 real point
              dict(M=100, ddof=0, realFraction=0.2), dict(M=2, ddof=1, realFraction=0.5),
              dict(M=1000, ddof=1, realFraction=1.0), dict(M=37, ddof=0, realFraction=0.63)]
    return [dict(case, generations=GENERATIONS) for case in cases]


@needs_chromium
def test_gaussian_exact_curves_equal_the_closed_forms(tmp_path):
    from simcollapse.config import real_count

    def reference(s, got):
        sizes = np.full(s["generations"], s["M"])
        n_real = int(real_count(s["realFraction"], s["M"]))
        assert got["n_real"] == n_real
        if n_real:
            var, mse = gaussian_theory.fresh_real(sizes, np.full(sizes.size, n_real), s["ddof"])
            assert got["w2sq"] is None and got["log_variance"] is None  # no closed form with real data
            return {"variance": var, "mean_sq_error": mse}
        config = make_config("gaussian", n_samples=s["M"], ddof=s["ddof"], generations=s["generations"])
        curves = theory(config)
        return {"variance": curves["E_var"], "mean_sq_error": curves["E_mean_sq_error"],
                "log_variance": curves["E_logvar"], "w2sq": curves["E_w2sq"]}

    call = ("((r) => ({n_real: r.nReal, variance: [...r.variance], mean_sq_error: [...r.meanSqError], "
            "log_variance: r.logVariance && [...r.logVariance], w2sq: r.w2sq && [...r.w2sq]}))(GaussianTheory.curves(c))")
    _check_curves(tmp_path, ("numeric.js", "gaussian_theory.js"), call, _gaussian_settings(), reference)


# ----------------------------------------------------------------------------------------------------
# The pages: a query string sets the state; the read-outs show the exact numbers; controls change the picture
# ----------------------------------------------------------------------------------------------------


@needs_chromium
def test_cats_link_sets_the_state_and_p_lost_is_exact(tmp_path):
    query = "N=250&blue=30&temperature=1.1&min_p=0.02&real_fraction=0&generation=137&seed=7"
    dom = _dump(tmp_path, _page_url(tmp_path, "cats", query))
    data = _exact_data(dom)
    s = data["settings"]
    assert (s["N"], s["blue"], s["temperature"], s["minP"], s["realFraction"], s["seed"]) == (250, 30, 1.1, 0.02, 0, 7)
    assert data["generation"] == 137
    expected = theory(_cats_config(s))["P_lost"][:, 1]
    value, text = _readout(dom, "p-lost")
    assert abs(value - expected[137]) <= TOLERANCE and abs(float(text) - expected[137]) <= 5e-7 + 1e-9
    assert np.max(np.abs(np.asarray(data["lost"]) - expected)) <= TOLERANCE
    assert "220 yellow cats, 30 blue cats" in dom
    assert "--set n_samples=250" in dom and "--set temperature=1.1" in dom


@needs_chromium
def test_cats_out_of_range_values_are_clamped(tmp_path):
    data = _exact_data(_dump(tmp_path, _page_url(tmp_path, "cats", "N=9999&blue=-3&generation=5000&temperature=abc")))
    s = data["settings"]
    assert (s["N"], s["blue"], s["temperature"], data["generation"]) == (500, 1, 1, 1000)


@needs_chromium
def test_gaussian_link_sets_the_state_and_the_read_outs_are_exact(tmp_path):
    dom = _dump(tmp_path, _page_url(tmp_path, "gaussian", "M=12&ddof=1&generation=33"))
    data = _exact_data(dom)
    assert (data["settings"]["M"], data["settings"]["ddof"], data["generation"]) == (12, 1, 33)
    curves = theory(make_config("gaussian", n_samples=12, ddof=1, generations=40))
    assert abs(_readout(dom, "e-var")[0] - curves["E_var"][33]) <= TOLERANCE
    assert abs(_readout(dom, "e-w2sq")[0] - curves["E_w2sq"][33]) <= TOLERANCE
    real = _exact_data(_dump(tmp_path, _page_url(tmp_path, "gaussian", "M=12&real_fraction=0.25&generation=33")))
    var, _ = gaussian_theory.fresh_real(np.full(33, 12), np.full(33, 3), 0)
    assert real["n_real"] == 3 and abs(real["e_var"] - var[33]) <= TOLERANCE and real["e_w2sq"] is None


KEYS = """<script>
const press = (key, target = document.body) => target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
const generation = () => Number(document.getElementById("generation").value);
const seen = [generation()];
press("ArrowRight"); press("ArrowRight"); press("l"); seen.push(generation());
press("ArrowLeft"); seen.push(generation());
press("ArrowRight", document.getElementById("generation-range")); seen.push(generation());  // the slider's own key
press("Home"); seen.push(generation());
press(" "); seen.push(document.getElementById("play").getAttribute("aria-pressed"));
press(" "); seen.push(document.getElementById("play").getAttribute("aria-pressed"));
document.body.insertAdjacentHTML("beforeend", `<pre id="keys">${JSON.stringify(seen)}</pre>`);
</script>"""


@needs_chromium
@pytest.mark.parametrize("name", sorted(page.PAGES))
def test_keys_step_play_and_leave_a_focused_slider_alone(tmp_path, name):
    path = tmp_path / "keys.html"
    path.write_text(page.render(name).replace("</body>", KEYS + "</body>"), encoding="utf-8")
    dom = _dump(tmp_path, path.as_uri() + "?generation=5")
    seen = json.loads(html.unescape(re.search(r'<pre id="keys">(\[.*?\])</pre>', dom).group(1)))
    assert seen == [5, 8, 7, 7, 0, "true", "false"]


# Headless Chromium runs one animation frame under virtual time: the frame clock is driven by timers instead.
FRAMES_BY_TIMER = """<script>
window.__errors = [];
window.addEventListener("error", (e) => __errors.push(String(e.message)));
window.requestAnimationFrame = (f) => setTimeout(() => f(performance.now()), 16);
</script>"""
PLAY = """<script>
document.getElementById("speed").value = "200";
document.getElementById("play").click();
setTimeout(() => {  // a setting moved while playing: the chains are redrawn from it, the play goes on
  const slider = document.getElementById("real_fraction-range");
  slider.value = "0.5";
  slider.dispatchEvent(new Event("input"));
}, 1010);
setTimeout(() => document.body.insertAdjacentHTML("beforeend", `<pre id="played">${JSON.stringify(
  [Number(document.getElementById("generation").value), document.getElementById("play").getAttribute("aria-pressed"), __errors])}</pre>`), 2000);
</script>"""


@needs_chromium
@pytest.mark.parametrize("name", sorted(page.PAGES))
def test_play_animates_generation_after_generation(tmp_path, name):
    path = tmp_path / "play.html"
    path.write_text(page.render(name).replace("<head>", "<head>" + FRAMES_BY_TIMER).replace("</body>", PLAY + "</body>"),
                    encoding="utf-8")
    dom = _chromium(tmp_path, path.as_uri() + "?real_fraction=0.2", "--virtual-time-budget=3000", "--dump-dom")
    generation, pressed, errors = json.loads(html.unescape(re.search(r'<pre id="played">(\[.*?\])</pre>', dom).group(1)))
    assert errors == [] and pressed == "true"
    assert 5 <= generation <= 11  # 2 s at 200 ms a generation, each drawn as an animated step


def _screenshot(tmp_path: Path, url: str, name: str) -> np.ndarray:
    from PIL import Image

    path = tmp_path / f"{name}.png"
    _chromium(tmp_path, url, f"--screenshot={path}")
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"), dtype=np.int16)


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixels that differ between two screenshots of the same size."""
    assert a.shape == b.shape
    return float(np.mean(np.any(a != b, axis=-1)))


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize(("name", "before", "after"), [
    ("cats", "N=100&blue=10&generation=0", "N=100&blue=10&generation=40"),
    ("gaussian", "M=20&generation=30", "M=5&generation=30"),
])
def test_moving_a_control_changes_the_picture(tmp_path, name, before, after):
    first = _screenshot(tmp_path, _page_url(tmp_path, name, before), "first")
    again = _screenshot(tmp_path, _page_url(tmp_path, name, before), "again")
    moved = _screenshot(tmp_path, _page_url(tmp_path, name, after), "moved")
    assert changed_share(first, again) == 0.0  # the same state draws the same picture: any change is the control's
    assert changed_share(first, moved) > 0.02
