// tformer's web page: the cost explorer (numbers from POST /api/cost, the
// Go cost package behind `tformer cost`) and the playground (the server's
// OpenAI-compatible API, streamed). Plain JavaScript, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const SVGNS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

// ---------- number formatting ----------
function si(x, unit = "") {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const a = Math.abs(x);
  const units = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [v, s] of units) if (a >= v) return (x / v).toPrecision(4).replace(/\.?0+$/, "") + " " + s + unit;
  return String(Math.round(x * 100) / 100) + (unit ? " " + unit : "");
}
function bytes(x) {
  if (!isFinite(x)) return "–";
  const units = [[2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  for (const [v, s] of units) if (Math.abs(x) >= v) return (x / v).toPrecision(4).replace(/\.?0+$/, "") + " " + s;
  return x + " B";
}
const exact = (n) => Number(n).toLocaleString("en-US");
const pct = (x) => (100 * x).toFixed(1) + "%";
// A cell or value element showing a rounded number, with the exact value in
// data-exact (and as its tooltip).
function numEl(tag, value, fmt = si) {
  const e = el(tag, { "data-exact": String(value), title: typeof value === "number" ? exact(value) : String(value), text: fmt(value) });
  return e;
}
function setNum(id, value, fmt = si) {
  const e = $(id);
  e.textContent = fmt(value);
  e.dataset.exact = String(value);
  e.title = exact(value);
}

// ---------- server info ----------
let serverInfo = { chat: false, api_key: false };
let presets = [];

async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  const body = await r.json().catch(() => ({ error: { message: `HTTP ${r.status}` } }));
  if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
  return body;
}

// ---------- cost explorer ----------
const FIELDS = ["arch", "vocab", "d_model", "layers", "heads", "d_ff", "max_seq", "embed_dim", "share", "groups", "type_vocab", "tie", "pooler", "mlm_head"];
let base = { kind: "preset", name: "gpt2" };
let lastModel = null;
let requestSeq = 0;
let lastReport = null;

// The chart's grid: n = 2^(k/2) from 16 to 65536.
const GRID = [];
for (let k = 8; k <= 32; k++) GRID.push(Math.round(2 ** (k / 2)));

function fillForm(m) {
  lastModel = m;
  for (const f of FIELDS) {
    const input = $("f-" + f);
    if (!input || m[f] === undefined) continue;
    if (input.type === "checkbox") input.checked = !!m[f]; else input.value = m[f];
  }
  showEncoderFields();
}

function showEncoderFields() {
  const enc = $("f-arch").value === "encoder";
  for (const e of document.querySelectorAll(".enc")) e.hidden = !enc;
}

function formFields() {
  const out = {};
  for (const f of FIELDS) {
    const input = $("f-" + f);
    if (input.closest(".enc") && input.closest(".enc").hidden) continue;
    if (input.type === "checkbox") out[f] = input.checked;
    else if (input.type === "number") {
      if (input.value === "") continue;
      out[f] = Number(input.value);
    } else out[f] = input.value;
  }
  return out;
}

function costRequest() {
  const n = Math.max(1, Math.round(Number($("f-n").value) || 1));
  const seqs = Array.from(new Set([...GRID, n])).sort((a, b) => a - b);
  const req = { model: formFields(), seqs, batch: Math.max(1, Math.round(Number($("f-batch").value) || 1)),
    causal: $("f-causal").checked, train: $("f-train").checked };
  if (base.kind === "preset") req.preset = base.name;
  if (base.kind === "config") req.config = base.config;
  if (base.kind === "loaded") req.loaded = true;
  return { req, n };
}

let debounce = 0;
// schedule updates the numbers shortly after the last change; an answer to
// an earlier request that arrives after it is dropped, so "ready" on the
// body always means the numbers shown are those of the form as it is.
function schedule() {
  requestSeq++;
  document.body.dataset.costState = "pending";
  clearTimeout(debounce);
  debounce = setTimeout(update, 120);
}

async function update() {
  const { req, n } = costRequest();
  const mine = ++requestSeq;
  document.body.dataset.costState = "loading";
  try {
    const resp = await getJSON("/api/cost", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req) });
    if (mine !== requestSeq) return;
    $("cost-error").textContent = "";
    render(resp, n);
    document.body.dataset.costN = String(n);
    document.body.dataset.costState = "ready";
    document.body.dataset.costSeq = String(mine);
  } catch (err) {
    if (mine !== requestSeq) return;
    $("cost-error").textContent = err.message;
    document.body.dataset.costState = "error";
  }
}

function render(resp, n) {
  const r = resp.report;
  lastReport = r;
  lastModel = r.model;
  const p = r.params;
  setNum("p-unique", p.unique);
  setNum("p-applied", p.applied);
  setNum("p-tying", p.saved_by_tying);
  setNum("p-sharing", p.saved_by_sharing);
  renderParams(p);
  const train = r.conventions.train;
  const at = r.per_seq.find((e) => e.seq === n);
  renderChart(r, n, train);
  renderAtN(r, at, train);
  renderLayer(r.per_layer.find((e) => e.seq === n));
  renderMemory(at.memory);
  renderInference(resp, resp.inference.find((e) => e.seq === n), r);
}

function renderParams(p) {
  const t = $("params-table");
  t.replaceChildren(el("tr", {}, el("th", { text: "component" }), el("th", { text: "unique" }), el("th", { text: "applied" }), el("th", { text: "" })));
  const order = ["embeddings", "attention", "ffn", "norms", "head", "pooler"];
  const maxA = Math.max(...order.map((k) => (p.components[k] || {}).applied || 0), 1);
  for (const k of order) {
    const c = p.components[k];
    if (!c || (c.unique === 0 && c.applied === 0)) continue;
    const bars = el("td", {},
      el("span", { class: "bar", style: `width:${(120 * c.unique) / maxA}px`, title: "unique" }),
      el("span", { class: "bar", style: `width:${(120 * c.applied) / maxA}px;background:#f0b27a`, title: "applied" }));
    t.append(el("tr", { "data-component": k }, el("td", { text: k }), numEl("td", c.unique), numEl("td", c.applied), bars));
  }
  t.append(el("tr", { class: "total" }, el("td", { text: "total" }), numEl("td", p.unique), numEl("td", p.applied), el("td")));
}

// Flops of one component at one per_seq entry: forward, or forward + backward.
function compFlops(e, c, train) {
  const f = e.flops.forward[c] || 0;
  return train ? f + ((e.flops.backward || {})[c] || 0) : f;
}
function groupFlops(e, g, train) {
  const key = { MHA: "mha", FFN: "ffn", "QKᵀ+AV": "attention_core" }[g];
  return train ? e.train[key] : e[key];
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

function renderChart(r, n, train) {
  const el0 = $("chart");
  const W = el0.clientWidth || 900, H = el0.clientHeight || 420;
  const M = { l: 64, r: 150, t: 16, b: 40 };
  el0.setAttribute("viewBox", `0 0 ${W} ${H}`);
  el0.replaceChildren();
  $("chart-title").textContent = `${train ? "Training (forward + backward)" : "Forward"} FLOPs per component against n (batch ${r.conventions.batch}, ${r.conventions.attention})`;
  const pts = r.per_seq.filter((e) => GRID.includes(e.seq));
  const series = [];
  r.components.forEach((c, i) => {
    const ys = pts.map((e) => compFlops(e, c, train));
    if (!ys.every((y) => y > 0)) return;
    // Components with the same FLOPs at every n (scores and av, ffn_up and
    // ffn_down) would hide one another's curve: draw one, name both.
    const same = series.find((s) => s.ys.every((y, j) => y === ys[j]));
    if (same) { same.name += " = " + c; return; }
    // One within 2% of another at every n (ffn_up and ffn_down, which
    // differ by a bias) is dashed, so that the other shows through.
    const near = series.some((s) => s.ys.every((y, j) => Math.abs(y - ys[j]) <= 0.02 * y));
    series.push({ name: c, ys, color: PALETTE[i % PALETTE.length], width: near ? 2 : 1.4, dash: near ? "5 4" : undefined });
  });
  series.push({ name: "MHA", ys: pts.map((e) => groupFlops(e, "MHA", train)), color: "#111", width: 3 });
  series.push({ name: "FFN", ys: pts.map((e) => groupFlops(e, "FFN", train)), color: "#c0392b", width: 3 });
  series.push({ name: "QKᵀ+AV", ys: pts.map((e) => groupFlops(e, "QKᵀ+AV", train)), color: "#111", width: 2, dash: "6 4" });
  const xs = pts.map((e) => e.seq);
  const allY = series.flatMap((s) => s.ys).filter((y) => y > 0);
  const lx0 = Math.log10(xs[0]), lx1 = Math.log10(xs[xs.length - 1]);
  const ly0 = Math.floor(Math.log10(Math.min(...allY))), ly1 = Math.ceil(Math.log10(Math.max(...allY)));
  const X = (x) => M.l + ((Math.log10(x) - lx0) / (lx1 - lx0)) * (W - M.l - M.r);
  const Y = (y) => H - M.b - ((Math.log10(y) - ly0) / (ly1 - ly0)) * (H - M.t - M.b);
  const grid = svg("g", { class: "grid" }), axis = svg("g", { class: "axis" });
  for (let e = ly0; e <= ly1; e++) {
    grid.append(svg("line", { x1: M.l, x2: W - M.r, y1: Y(10 ** e), y2: Y(10 ** e) }));
    axis.append(svg("text", { x: M.l - 6, y: Y(10 ** e) + 4, "text-anchor": "end" }, si(10 ** e)));
  }
  for (let k = 4; k <= 16; k += 2) {
    const x = 2 ** k;
    grid.append(svg("line", { x1: X(x), x2: X(x), y1: M.t, y2: H - M.b }));
    axis.append(svg("text", { x: X(x), y: H - M.b + 16, "text-anchor": "middle" }, x >= 1024 ? x / 1024 + "k" : String(x)));
  }
  axis.append(svg("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  axis.append(svg("line", { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  axis.append(svg("text", { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" }, "sequence length n (log)"));
  axis.append(svg("text", { x: 14, y: (M.t + H - M.b) / 2, transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})`, "text-anchor": "middle" }, "FLOPs (log)"));
  el0.append(grid, axis);
  // the context length, beyond which the model has no positions
  if (r.model.max_seq >= xs[0] && r.model.max_seq <= xs[xs.length - 1]) {
    const g = svg("g", { class: "grid" });
    g.append(svg("rect", { x: X(r.model.max_seq), y: M.t, width: W - M.r - X(r.model.max_seq), height: H - M.t - M.b, fill: "#f2f4f7", opacity: 0.6 }));
    g.append(svg("text", { x: X(r.model.max_seq) + 4, y: H - M.b - 6 }, "beyond context"));
    el0.append(g);
  }
  // lines, legend
  const legendY = (i) => M.t + 4 + i * 16;
  series.forEach((s, i) => {
    const d = s.ys.map((y, j) => `${j ? "L" : "M"}${X(xs[j]).toFixed(1)},${Y(y).toFixed(1)}`).join("");
    const path = svg("path", { d, fill: "none", stroke: s.color, "stroke-width": s.width, "data-series": s.name });
    if (s.dash) path.setAttribute("stroke-dasharray", s.dash);
    el0.append(path);
    const lx = W - M.r + 12;
    const ll = svg("line", { x1: lx, x2: lx + 18, y1: legendY(i), y2: legendY(i), stroke: s.color, "stroke-width": s.width });
    if (s.dash) ll.setAttribute("stroke-dasharray", s.dash);
    el0.append(ll, svg("text", { x: lx + 24, y: legendY(i) + 4 }, s.name));
  });
  // crossovers
  const cr = train ? r.crossover.train : r.crossover;
  const crosses = [["MHA = FFN", cr.mha_equals_ffn], ["QKᵀ+AV = FFN", cr.attention_core_equals_ffn]];
  const g = svg("g", { class: "cross" });
  const lines = svg("g"), labels = svg("g"); // labels over every line
  g.append(lines, labels);
  el0.append(g); // in the page now, so that labels can be measured
  const notes = [];
  crosses.forEach(([label, x], i) => {
    if (x === null || x === undefined) { notes.push(`${label}: none`); return; }
    notes.push(`${label} at n ≈ ${Math.round(x)}`);
    if (x < xs[0] || x > xs[xs.length - 1]) return;
    lines.append(svg("line", { x1: X(x), x2: X(x), y1: M.t, y2: H - M.b, "data-cross": label }));
    // right of the line, or left of it when it would run past the plot
    const text = svg("text", { x: X(x) + 5, y: M.t + 14 + 16 * i, "text-anchor": "start" }, `${label}: n ≈ ${Math.round(x)}`);
    labels.append(text);
    if (X(x) + 5 + text.getComputedTextLength() > W - M.r - 4) {
      text.setAttribute("x", X(x) - 5);
      text.setAttribute("text-anchor", "end");
    }
    // a backdrop keeps the label readable where curves run behind it
    const bb = text.getBBox();
    labels.insertBefore(svg("rect", { x: bb.x - 3, y: bb.y - 1, width: bb.width + 6, height: bb.height + 2, rx: 3, class: "label-bg" }), text);
  });
  const cx = $("cross-text");
  cx.textContent = `Per layer, ${r.crossover.convention}${train ? ", forward + backward" : ", forward"}: ` + notes.join("; ") +
    `. Matmuls only, bidirectional: MHA = FFN at n ≈ ${fmtCross(r.crossover.matmul_only.mha_equals_ffn)}, QKᵀ+AV = FFN at n ≈ ${fmtCross(r.crossover.matmul_only.attention_core_equals_ffn)}.`;
  cx.dataset.mhaEqualsFfn = String(cr.mha_equals_ffn);
  cx.dataset.coreEqualsFfn = String(cr.attention_core_equals_ffn);
  // marker for the chosen n
  if (n >= xs[0] && n <= xs[xs.length - 1]) {
    el0.append(svg("line", { x1: X(n), x2: X(n), y1: M.t, y2: H - M.b, stroke: "#2456c9", "stroke-width": 1, opacity: 0.5 }));
  }
  // hover
  const hover = svg("g", { class: "hover", visibility: "hidden" });
  const hl = svg("line", { y1: M.t, y2: H - M.b });
  hover.append(hl);
  el0.append(hover);
  const tip = $("tip");
  el0.onmousemove = (ev) => {
    const box = el0.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * W;
    if (px < M.l || px > W - M.r) { hover.setAttribute("visibility", "hidden"); tip.hidden = true; return; }
    let j = 0;
    for (let k = 1; k < xs.length; k++) if (Math.abs(X(xs[k]) - px) < Math.abs(X(xs[j]) - px)) j = k;
    hl.setAttribute("x1", X(xs[j])); hl.setAttribute("x2", X(xs[j]));
    hover.setAttribute("visibility", "visible");
    const rows = series.map((s) => el("tr", {}, el("td", {}, el("span", { class: "sw", style: `background:${s.color}` }), s.name), el("td", { text: si(s.ys[j]) })))
      .sort((a, b) => 0);
    tip.replaceChildren(el("div", { text: `n = ${xs[j]}` }), el("table", {}, ...rows));
    tip.hidden = false;
    const left = (X(xs[j]) / W) * box.width;
    tip.style.left = (left > box.width / 2 ? left - tip.offsetWidth - 12 : left + 12) + "px";
  };
  el0.onmouseleave = () => { hover.setAttribute("visibility", "hidden"); tip.hidden = true; };
}
function fmtCross(x) { return x === null || x === undefined ? "none" : String(Math.round(x)); }

function renderAtN(r, e, train) {
  $("at-n-title").textContent = `FLOPs at n = ${e.seq} (batch ${e.batch})${e.beyond_context ? " — beyond the context" : ""}`;
  const t = $("at-n-table");
  const head = [el("th", { text: "component" }), el("th", { text: "forward" })];
  if (train) head.push(el("th", { text: "backward" }));
  t.replaceChildren(el("tr", {}, ...head));
  for (const c of r.components) {
    if (!e.flops.forward[c] && !(train && e.flops.backward[c])) continue; // a component this model does not run
    const row = el("tr", { "data-component": c }, el("td", { text: c }), numEl("td", e.flops.forward[c]));
    if (train) row.append(numEl("td", e.flops.backward[c]));
    t.append(row);
  }
  const tot = el("tr", { class: "total", id: "at-n-total" }, el("td", { text: "total" }), numEl("td", e.flops.forward.total));
  if (train) tot.append(numEl("td", e.flops.backward.total));
  t.append(tot);
  const g = el("tr", {}, el("td", { text: "MHA / FFN share" }), el("td", { text: `${pct(e.mha_share)} / ${pct(e.ffn_share)}` }));
  if (train) g.append(el("td", { text: `train total ${si(e.flops.train_total)}` }));
  t.append(g);
}

function renderLayer(row) {
  const t = $("layer-table");
  const rows = [["QKV projections", row.qkv], ["QKᵀ (scores)", row.scores], ["AV", row.av], ["output projection", row.out_proj],
    ["MHA", row.mha], ["FFN", row.ffn]];
  t.replaceChildren(el("tr", {}, el("th", { text: `n = ${row.seq}` }), el("th", { text: "FLOPs per layer" })));
  for (const [k, v] of rows) t.append(el("tr", { class: k === "MHA" ? "total" : "" }, el("td", { text: k }), numEl("td", v)));
  t.append(el("tr", {}, el("td", { text: "MHA : FFN" }), el("td", { text: `${pct(row.mha_share)} : ${pct(row.ffn_share)} (×${row.mha_ffn_ratio.toFixed(3)})` })));
}

function renderMemory(m) {
  $("mem-title").textContent = `Memory of a training step (n = ${m.seq}, batch ${m.batch})`;
  const t = $("mem-table");
  t.replaceChildren(el("tr", {}, el("th", { text: "" }), el("th", { text: "bytes" })));
  for (const [k, v] of [["parameters", m.params], ["gradients", m.grads], ["AdamW moments", m.adamw], ["activations", m.activations], ["attention log-sum-exp", m.attention_lse]]) {
    t.append(el("tr", {}, el("td", { text: k }), numEl("td", v, bytes)));
  }
  t.append(el("tr", { class: "total", id: "mem-total" }, el("td", { text: "total" }), numEl("td", m.total, bytes)));
  t.append(el("tr", {}, el("td", { text: "an unfused kernel's n² probabilities" }), numEl("td", m.naive_attention_probs, bytes)));
}

function renderInference(resp, inf, r) {
  const t = $("inf-table");
  if (r.model.arch !== "decoder") {
    t.replaceChildren(el("tr", {}, el("td", { text: "An encoder does not generate: no KV cache." })));
    return;
  }
  t.replaceChildren(
    el("tr", {}, el("th", { text: "" }), el("th", { text: "" })),
    el("tr", { id: "kv-row" }, el("td", { text: `KV cache at n = ${inf.seq}, batch ${r.conventions.batch}` }), numEl("td", inf.kv_cache, bytes)),
    el("tr", {}, el("td", { text: `KV cache the engine allocates (context ${r.model.max_seq})` }), numEl("td", resp.engine_kv_cache, bytes)),
    el("tr", {}, el("td", { text: `forward FLOPs of token n = ${inf.seq}` }), numEl("td", inf.decode_flops)),
    el("tr", {}, el("td", { text: "parameters read per token" }), numEl("td", r.params.unique * 4, bytes)),
  );
}

function onFieldChange(ev) {
  const id = ev.target.id;
  if (id === "f-d_model" && lastModel) {
    const d = Number($("f-d_model").value), old = lastModel.d_model;
    if (Number($("f-d_ff").value) === 4 * old) $("f-d_ff").value = 4 * d;
    if (Number($("f-embed_dim").value) === old) $("f-embed_dim").value = d;
  }
  if (id === "f-arch") {
    $("f-causal").checked = $("f-arch").value === "decoder";
    showEncoderFields();
  }
  schedule();
}

function selectBase() {
  const v = $("f-preset").value;
  if (v === "__loaded") {
    base = { kind: "loaded" };
    fillForm(serverInfo.config);
  } else if (v === "__custom") {
    base = { kind: "custom" };
    return schedule();
  } else if (v === "__config") {
    return;
  } else {
    base = { kind: "preset", name: v };
    fillForm(presets.find((p) => p.name === v).model);
  }
  $("f-causal").checked = $("f-arch").value === "decoder";
  schedule();
}

async function useConfig() {
  requestSeq++; // the numbers shown are no longer the form's
  document.body.dataset.costState = "pending";
  let cfg;
  try {
    cfg = JSON.parse($("f-config").value);
  } catch (err) {
    $("cost-error").textContent = "config.json is not valid JSON: " + err.message;
    document.body.dataset.costState = "error";
    return;
  }
  try {
    const resp = await getJSON("/api/cost", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ config: cfg, seqs: [1] }) });
    base = { kind: "config", config: cfg };
    ensureOption("__config", "pasted config.json");
    $("f-preset").value = "__config";
    fillForm(resp.report.model);
    $("f-causal").checked = $("f-arch").value === "decoder";
    schedule();
  } catch (err) {
    $("cost-error").textContent = err.message;
    document.body.dataset.costState = "error";
  }
}

function ensureOption(value, label) {
  const sel = $("f-preset");
  if (![...sel.options].some((o) => o.value === value)) sel.append(el("option", { value, text: label }));
}

// ---------- playground ----------
let abort = null;

async function runGeneration() {
  const chat = $("g-mode").value === "chat";
  const prompt = $("g-prompt").value;
  const body = { model: serverInfo.model, max_tokens: Number($("g-max").value), temperature: Number($("g-temp").value),
    top_p: Number($("g-topp").value), top_k: Number($("g-topk").value), stream: true, stream_options: { include_usage: true } };
  if ($("g-seed").value !== "") body.seed = Number($("g-seed").value);
  const stops = $("g-stop").value.split("\n").filter((s) => s !== "");
  if (stops.length) body.stop = stops;
  if (chat) body.messages = [{ role: "user", content: prompt }]; else body.prompt = prompt;
  const headers = { "Content-Type": "application/json" };
  if ($("g-key").value) headers.Authorization = "Bearer " + $("g-key").value;
  $("g-echo").textContent = chat ? "" : prompt;
  $("g-text").textContent = "";
  $("g-error").textContent = "";
  $("g-stats").textContent = "waiting…";
  $("g-run").disabled = true;
  $("g-stopbtn").disabled = false;
  abort = new AbortController();
  const t0 = performance.now();
  let first = 0, chunks = 0, finish = null, usage = null;
  const stats = () => {
    const now = performance.now();
    const toks = usage ? usage.completion_tokens : chunks;
    const rate = first && now > first ? (toks - 1) / ((now - first) / 1000) : 0;
    $("g-stats").textContent = `${toks} tokens · ${rate > 0 ? rate.toFixed(1) : "–"} tokens/s · first token after ${first ? ((first - t0) / 1000).toFixed(2) : "–"} s` +
      (finish ? ` · finish: ${finish}` : "");
    $("g-stats").dataset.tokens = String(toks);
    $("g-stats").dataset.rate = rate.toFixed(3);
  };
  try {
    const resp = await fetch(chat ? "/v1/chat/completions" : "/v1/completions", { method: "POST", headers, body: JSON.stringify(body), signal: abort.signal });
    if (!resp.ok) {
      const e = await resp.json().catch(() => ({}));
      throw new Error(e.error ? e.error.message : `HTTP ${resp.status}`);
    }
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") continue;
          const c = JSON.parse(data);
          if (c.error) throw new Error(c.error.message);
          if (c.usage) usage = c.usage;
          const ch = c.choices && c.choices[0];
          if (!ch) continue;
          const piece = chat ? (ch.delta && ch.delta.content) || "" : ch.text || "";
          if (piece) {
            if (!first) first = performance.now();
            chunks++;
            $("g-text").textContent += piece;
          }
          if (ch.finish_reason) finish = ch.finish_reason;
        }
      }
      stats();
    }
    stats();
    document.body.dataset.playState = "done";
  } catch (err) {
    if (err.name !== "AbortError") $("g-error").textContent = err.message;
    else finish = "stopped by you";
    stats();
    document.body.dataset.playState = "error";
  } finally {
    $("g-run").disabled = false;
    $("g-stopbtn").disabled = true;
    abort = null;
  }
}

// ---------- start ----------
function showView(v) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.view === v);
  $("view-cost").hidden = v !== "cost";
  $("view-play").hidden = v !== "play";
  location.hash = v === "play" ? "#playground" : "";
}

async function start() {
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => showView(b.dataset.view));
  try {
    serverInfo = await getJSON("/api/info");
    presets = await getJSON("/api/presets");
  } catch (err) {
    $("cost-error").textContent = "cannot reach the server: " + err.message;
    return;
  }
  const sel = $("f-preset");
  if (serverInfo.config) sel.append(el("option", { value: "__loaded", text: `loaded model (${serverInfo.model})` }));
  for (const p of presets) sel.append(el("option", { value: p.name, text: p.name }));
  sel.append(el("option", { value: "__custom", text: "custom (the fields below)" }));
  sel.addEventListener("change", selectBase);
  $("use-config").addEventListener("click", useConfig);
  for (const input of document.querySelectorAll("#cost-form input, #cost-form select")) {
    if (input.id === "f-preset") continue;
    input.addEventListener(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input", onFieldChange);
  }
  if (serverInfo.model) {
    $("server-info").textContent = `model ${serverInfo.model} · ${serverInfo.tokenizer} tokenizer · context ${serverInfo.config.max_seq}` + (serverInfo.chat ? " · chat" : "");
    $("playground").hidden = false;
    $("mode-row").hidden = !serverInfo.chat;
    $("key-row").hidden = !serverInfo.api_key;
    $("g-max").max = serverInfo.max_tokens;
    $("g-run").addEventListener("click", runGeneration);
    $("g-stopbtn").addEventListener("click", () => abort && abort.abort());
    sel.value = "__loaded";
  } else {
    $("server-info").textContent = "no model loaded: cost explorer only";
    $("no-model").hidden = false;
    sel.value = "gpt2";
  }
  selectBase();
  if (location.hash === "#playground") showView("play");
  window.addEventListener("resize", () => lastReport && schedule());
}

start();
