/* What both classroom pages share: controls bound to the query string, keyboard shortcuts, the play loop,
   number read-outs and canvas charts. Plain DOM and canvas 2D, nothing fetched. */
const UI = (() => {
  // Okabe & Ito's colour-blind-safe palette
  const COLOURS = {
    black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
    yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
    grid: "#d9d9d9", ink: "#1a1a1a", muted: "#5c5c5c",
  };
  const CHAIN_COLOURS = [COLOURS.black, COLOURS.purple, COLOURS.orange];
  const CHAIN_NAMES = ["A", "B", "C"];
  const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

  // ------------------------------------------------------------------------------------------------
  // Controls: each named control is an <input type=number id=NAME> (or a <select id=NAME>), optionally
  // paired with an <input type=range id=NAME-range>. Values come from the query string, are clamped to
  // their range, and every change is written back to the address bar and the "link to this state".
  // ------------------------------------------------------------------------------------------------

  function controls(specs, onChange) {
    const state = {};
    const params = new URLSearchParams(location.search);
    const bounds = (spec, key) => (typeof spec[key] === "function" ? spec[key](state) : spec[key]);

    function clamp(spec, raw) {
      let value = Number(raw);
      if (raw === null || raw === "" || !Number.isFinite(value)) value = spec.value;
      if (spec.integer) value = Math.round(value);
      return Math.min(bounds(spec, "max"), Math.max(bounds(spec, "min"), value));
    }

    function show(spec) {
      for (const id of [spec.name, `${spec.name}-range`]) {
        const input = document.getElementById(id);
        if (!input) continue;
        if (input.tagName === "INPUT") { input.min = bounds(spec, "min"); input.max = bounds(spec, "max"); }
        input.value = String(state[spec.name]);
      }
    }

    function settle() {  // clamp in declaration order: later bounds may depend on earlier values
      for (const spec of specs) { state[spec.name] = clamp(spec, state[spec.name]); show(spec); }
      const query = specs.map((s) => `${s.name}=${state[s.name]}`).join("&");
      const link = document.getElementById("link");
      if (link) link.href = `?${query}`;
      try { history.replaceState(null, "", `?${query}`); } catch (error) { /* some browsers refuse on file: */ }
    }

    for (const spec of specs) {
      state[spec.name] = params.get(spec.name);
      for (const [id, event] of [[spec.name, "change"], [`${spec.name}-range`, "input"]]) {
        const input = document.getElementById(id);
        if (input) input.addEventListener(event, () => set({ [spec.name]: input.value }));
      }
    }
    settle();

    function set(changes) {
      const before = { ...state };
      Object.assign(state, changes);
      settle();
      const changed = specs.map((s) => s.name).filter((name) => state[name] !== before[name]);
      if (changed.length) onChange(changed);
    }

    return { state, set };
  }

  /** Space or K: play/pause; → or L: one generation on; ← or J: one back; Home: generation 0. A focused
      slider keeps its own arrow keys, a focused button its Space, a text field everything. */
  function keys(actions) {
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target, tag = target.tagName;
      if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && target.type !== "range")) return;
      const slider = tag === "INPUT";
      const button = tag === "BUTTON" || tag === "A";
      const action = {
        " ": !button && actions.toggle, k: actions.toggle,
        ArrowRight: !slider && actions.forward, l: actions.forward,
        ArrowLeft: !slider && actions.back, j: actions.back,
        Home: !slider && actions.restart,
      }[event.key];
      if (action) { event.preventDefault(); action(); }
    });
  }

  /** The play loop: each generation takes `duration()` ms; `frame(progress)` draws the step in flight
      (progress in [0, 1); null: no step, the generation as it stands), `advance()` moves one generation on
      and returns false at the end. */
  function player({ duration, frame, advance, button }) {
    let playing = false, started = 0;
    function tick(now) {
      if (!playing) return;
      let progress = (now - started) / duration();
      if (progress >= 1) {
        started = now; progress = 0;
        if (!advance()) { stop(); return; }
      }
      frame(progress);
      requestAnimationFrame(tick);
    }
    function label() {
      button.textContent = playing ? "❚❚ Pause" : "▶ Play";
      button.setAttribute("aria-pressed", String(playing));
    }
    function start() {
      if (playing) return;
      playing = true; started = performance.now(); label();
      requestAnimationFrame(tick);
    }
    function stop() { playing = false; label(); frame(null); }
    button.addEventListener("click", () => (playing ? stop() : start()));
    label();
    return { start, stop, toggle: () => (playing ? stop() : start()), get playing() { return playing; } };
  }

  /** What both pages do with the generation: redraw at most once a frame (`schedule`, for bursts of slider
      events), play / pause / step from the buttons and keys, redraw on resize. `render()` draws the page as it
      stands, `frame(progress)` the step in flight (see `player`). */
  function driver({ control, render, frame, maxGeneration, duration }) {
    const state = control.state;
    let pending = false;
    const schedule = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; render(); });
    };
    const play = player({
      button: document.getElementById("play"), duration, frame,
      advance: () => {
        if (state.generation >= maxGeneration) return false;
        control.set({ generation: state.generation + 1 });
        return state.generation < maxGeneration;
      },
    });
    const step = (by) => { play.stop(); control.set({ generation: state.generation + by }); };
    const restart = () => step(-state.generation);
    document.getElementById("step").addEventListener("click", () => step(1));
    document.getElementById("step-back").addEventListener("click", () => step(-1));
    document.getElementById("restart").addEventListener("click", restart);
    keys({ toggle: play.toggle, forward: () => step(1), back: () => step(-1), restart });
    window.addEventListener("resize", schedule);
    return { schedule };
  }

  // ------------------------------------------------------------------------------------------------
  // Read-outs
  // ------------------------------------------------------------------------------------------------

  /** Write a number into element `id`: the text rounded for reading, data-value the full float64. */
  function readout(id, value, text = fixed(value)) {
    const element = document.getElementById(id);
    element.textContent = text;
    element.dataset.value = value === null ? "" : String(value);
    element.classList.toggle("missing", value === null);
  }

  const fixed = (x, digits = 6) => (x === null || !Number.isFinite(x) ? "—" : x.toFixed(digits));

  /** Six significant digits, exponent notation outside [1e-3, 1e6). */
  function significant(x) {
    if (x === null || !Number.isFinite(x)) return "—";
    if (x === 0) return "0";
    const a = Math.abs(x);
    return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
  }

  /** Keep the page's exact numbers, as JSON, in the element #exact-data (a script of type application/json). */
  function publish(data) {
    document.getElementById("exact-data").textContent = JSON.stringify(data, (key, value) =>
      value instanceof Float64Array ? Array.from(value) : value);
  }

  /** Generations shown on the curves' x-axis: the smallest of these holding both `wanted` and `generation`. */
  const HORIZONS = [10, 20, 50, 100, 200, 500, 1000];
  const horizon = (wanted, generation) => HORIZONS.find((h) => h >= Math.max(wanted, generation)) || 1000;

  // ------------------------------------------------------------------------------------------------
  // Charts
  // ------------------------------------------------------------------------------------------------

  /** A canvas sized to its CSS box at the device's pixel ratio; returns the context in CSS pixels. */
  function surface(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    return { ctx, width, height };
  }

  const font = (px, weight = "normal") => `${weight} ${px}px ${FONT}`;

  function niceTicks(lo, hi, count = 5) {
    const span = hi - lo || 1;
    const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return ticks;
  }

  const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const powerOfTen = (k) => (k === 0 ? "1" : k === 1 ? "10" : `10${String(k).replace(/./g, (c) => SUPERSCRIPT[c])}`);
  const tickLabel = (t) => String(Number(t.toPrecision(6)));

  /** Axes, grid, title and legend of a chart; returns the maps from data to pixels.
      spec: { title, xLabel, xMin, xMax, yMin, yMax, yLog (y given as log10 values), yTicks (optional),
            legend: [{label, colour, dash, width, box}] } */
  function axes(ctx, width, height, spec) {
    ctx.font = font(16);
    const placed = [];  // legend entries laid out in rows that fit the width
    let at = 78, row = 0;
    for (const item of spec.legend || []) {
      const size = 34 + ctx.measureText(item.label).width + 22;
      if (at + size > width - 10 && at > 78) { at = 78; row += 1; }
      placed.push({ item, at, row });
      at += size;
    }
    const legendRows = placed.length ? row + 1 : 0;
    const box = { left: 78, right: width - 30, top: 40 + legendRows * 24, bottom: height - 50 };
    const x = (v) => box.left + ((v - spec.xMin) / (spec.xMax - spec.xMin)) * (box.right - box.left);
    const y = (v) => box.bottom - ((v - spec.yMin) / (spec.yMax - spec.yMin)) * (box.bottom - box.top);
    ctx.fillStyle = COLOURS.ink;
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
    let size = 20;  // the title shrinks to fit a narrow chart
    do { ctx.font = font(size, "600"); } while (ctx.measureText(spec.title).width > width - 20 && --size > 13);
    ctx.fillText(spec.title, 10, 26);
    ctx.font = font(16);
    for (const { item, at: left, row: r } of placed) {
      const mid = 55 + r * 24;
      ctx.strokeStyle = item.colour; ctx.fillStyle = item.colour;
      ctx.lineWidth = item.width || 3; ctx.setLineDash(item.dash || []);
      if (item.box) { ctx.globalAlpha = 0.35; ctx.fillRect(left, mid - 6, 28, 12); ctx.globalAlpha = 1; }
      else { ctx.beginPath(); ctx.moveTo(left, mid); ctx.lineTo(left + 28, mid); ctx.stroke(); }
      ctx.setLineDash([]);
      ctx.fillStyle = COLOURS.ink;
      ctx.fillText(item.label, left + 34, mid + 5);
    }
    ctx.font = font(16);
    ctx.lineWidth = 1; ctx.strokeStyle = COLOURS.grid; ctx.fillStyle = COLOURS.muted;
    const yTicks = spec.yTicks || (spec.yLog ? logTicks(spec.yMin, spec.yMax) : niceTicks(spec.yMin, spec.yMax, 4));
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of yTicks) {
      ctx.beginPath(); ctx.moveTo(box.left, y(t)); ctx.lineTo(box.right, y(t)); ctx.stroke();
      ctx.fillText(spec.yLog ? powerOfTen(t) : tickLabel(t), box.left - 8, y(t));
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of niceTicks(spec.xMin, spec.xMax, 5)) {
      ctx.beginPath(); ctx.moveTo(x(t), box.top); ctx.lineTo(x(t), box.bottom); ctx.stroke();
      ctx.fillText(tickLabel(t), x(t), box.bottom + 6);
    }
    ctx.fillStyle = COLOURS.ink;
    ctx.fillText(spec.xLabel || "generation", (box.left + box.right) / 2, box.bottom + 27);
    ctx.strokeStyle = COLOURS.ink; ctx.lineWidth = 1.5;
    ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    return { x, y, box };
  }

  function logTicks(lo, hi) {
    const first = Math.ceil(lo), last = Math.floor(hi);
    const every = Math.max(1, Math.ceil((last - first + 1) / 6));
    const ticks = [];
    for (let k = first; k <= last; k++) if ((k - first) % every === 0) ticks.push(k);
    return ticks;
  }

  /** A line chart over generations 0 … xMax. series: [{ values, colour, dash, width, alpha, band: [lo, hi] }];
      `marker` draws the current generation as a vertical line, with a dot on each series flagged `dot`. */
  function lineChart(canvas, spec) {
    const { ctx, width, height } = surface(canvas);
    const map = axes(ctx, width, height, { xMin: 0, ...spec });
    const { x, y, box } = map;
    const clampY = (v) => Math.min(box.bottom + 2, Math.max(box.top - 2, y(v)));
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top); ctx.clip();
    for (const s of spec.series) {
      const length = s.band ? s.band[0].length : s.values.length;
      const last = Math.min(spec.xMax, s.upTo ?? length - 1);
      if (s.band) {
        const [lo, hi] = s.band;
        ctx.globalAlpha = s.alpha ?? 0.25; ctx.fillStyle = s.colour;
        ctx.beginPath();
        for (let n = 0; n <= last; n++) ctx.lineTo(x(n), clampY(hi[n]));
        for (let n = last; n >= 0; n--) ctx.lineTo(x(n), clampY(lo[n]));
        ctx.closePath(); ctx.fill(); ctx.globalAlpha = 1;
        continue;
      }
      ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 3; ctx.globalAlpha = s.alpha ?? 1;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let pen = false;
      for (let n = 0; n <= last; n++) {
        const v = s.values[n];
        if (v === null || !Number.isFinite(v)) { pen = false; continue; }
        if (pen) ctx.lineTo(x(n), clampY(v)); else ctx.moveTo(x(n), clampY(v));
        pen = true;
      }
      ctx.stroke(); ctx.setLineDash([]); ctx.globalAlpha = 1;
    }
    ctx.restore();
    if (spec.marker !== undefined && spec.marker <= spec.xMax) {
      ctx.strokeStyle = COLOURS.ink; ctx.lineWidth = 2; ctx.setLineDash([2, 4]);
      ctx.beginPath(); ctx.moveTo(x(spec.marker), box.top); ctx.lineTo(x(spec.marker), box.bottom); ctx.stroke();
      ctx.setLineDash([]);
      for (const s of spec.series) {
        const v = s.dot && s.values[spec.marker];
        if (!s.dot || v === null || !Number.isFinite(v)) continue;
        ctx.fillStyle = s.colour; ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.arc(x(spec.marker), clampY(v), 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      }
    }
    return map;
  }

  /** Bars of a law on 0 … N (or of a histogram's bins). Bars taller than the scale (the spikes at 0 and N once
      most chains are absorbed) are cut at the top, hatched, and labelled with their value. */
  function barChart(canvas, spec) {
    const { ctx, width, height } = surface(canvas);
    const { x, y, box } = axes(ctx, width, height, spec);
    const edges = spec.edges, heights = spec.heights;
    ctx.fillStyle = spec.colour;
    for (let k = 0; k < heights.length; k++) {
      const h = heights[k];
      if (!(h > 0)) continue;
      const left = x(edges[k]), right = Math.max(x(edges[k + 1]) - (spec.gap ?? 1), left + 1);
      const top = y(Math.min(h, spec.yMax));
      ctx.fillRect(left, top, right - left, box.bottom - top);
      if (h > spec.yMax) {
        ctx.fillStyle = "#ffffff";
        for (const dy of [10, 16]) ctx.fillRect(left, top + dy, right - left, 3);
        ctx.fillStyle = COLOURS.ink; ctx.font = font(18, "600");
        ctx.textAlign = left < (box.left + box.right) / 2 ? "left" : "right"; ctx.textBaseline = "top";
        ctx.fillText(spec.cutLabel(k, h), ctx.textAlign === "left" ? left + 4 : right - 4, box.top + 24);
        ctx.fillStyle = spec.colour;
      }
    }
    for (const mark of spec.marks || []) {  // a labelled triangle under the axis at each value
      const at = x(mark.at);
      ctx.fillStyle = mark.colour;
      ctx.beginPath(); ctx.moveTo(at, box.bottom - 2); ctx.lineTo(at - 8, box.bottom - 16); ctx.lineTo(at + 8, box.bottom - 16);
      ctx.closePath(); ctx.fill();
      ctx.font = font(15, "700"); ctx.textAlign = "center"; ctx.textBaseline = "bottom";
      ctx.fillText(mark.label, at, box.bottom - 17);
    }
    for (const line of spec.lines || []) {
      ctx.strokeStyle = line.colour; ctx.lineWidth = 3; ctx.setLineDash(line.dash || []);
      ctx.beginPath(); ctx.moveTo(x(line.at), box.top); ctx.lineTo(x(line.at), box.bottom); ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  return {
    COLOURS, CHAIN_COLOURS, CHAIN_NAMES, controls, driver, readout, significant, publish, horizon,
    surface, font, lineChart, barChart,
  };
})();
