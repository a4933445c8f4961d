// drilltwin studio front end: plain JS, no framework, no network beyond this server.
// Every name from a model, scenario or user reaches the page through textContent or setAttribute,
// never through innerHTML, so a name such as <script> shows as text.
"use strict";

const S = {
  token: sessionStorage.getItem("dts-token") || "",
  me: null, meta: null, files: [],
  path: null, kind: null, text: "", diskText: "", etag: null, data: null, ok: true,
  plan: null, level: 0, picked: null,
  wf: 0, step: null, drag: null,
  runPoll: null, editSeq: 0,
};

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  if (text !== undefined) e.textContent = String(text);
  return e;
}

async function api(method, url, body, headers) {
  const h = Object.assign({}, headers || {});
  if (S.token) h["Authorization"] = "Bearer " + S.token;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") { payload = body; h["Content-Type"] = "text/plain; charset=utf-8"; }
    else { payload = JSON.stringify(body); h["Content-Type"] = "application/json"; }
  }
  const r = await fetch(url, { method, headers: h, body: payload, cache: "no-store" });
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  return { status: r.status, data, headers: r.headers };
}

function setStatus(ok, text) {
  const s = $("status");
  s.className = ok ? "ok" : "bad";
  s.textContent = text;
}

function errorsText(errors) {
  return (errors || []).map((e) => e.text || e.message).join("\n") || "the file would not load";
}

// ------------------------------------------------------------------------------------------ login
async function login() {
  const tok = $("token").value.trim() || S.token;
  if (!tok) return;
  S.token = tok;
  const r = await api("GET", "/api/me");
  if (r.status !== 200) {
    S.token = ""; sessionStorage.removeItem("dts-token");
    $("savemsg").className = "bad"; $("savemsg").textContent = "log-in failed: " + (r.data.error || r.status);
    return;
  }
  sessionStorage.setItem("dts-token", tok);
  S.me = r.data;
  $("token").value = "";
  $("who").textContent = S.me.name + " (" + S.me.role + ")";
  $("login-box").hidden = true; $("who-box").hidden = false;
  $("savemsg").textContent = "";
  refreshButtons();
}

function logout() {
  S.token = ""; S.me = null; sessionStorage.removeItem("dts-token");
  $("login-box").hidden = false; $("who-box").hidden = true;
  refreshButtons();
}

function refreshButtons() {
  const can = (S.me && S.me.can) || {};
  $("save").disabled = !S.path || !can.save || S.text === S.diskText;
  $("save").title = can.save ? "" : "your role may not save (log in as an editor)";
  $("reload").disabled = !S.path;
  $("run-file").disabled = !S.path || !can.run || !["scenario", "experiment"].includes(S.kind);
  $("preview").disabled = !S.path || !can.preview || S.kind !== "scenario";
  $("coverage").disabled = !S.path || !can.preview || S.kind !== "scenario";
  $("dirty").hidden = S.text === S.diskText;
}

// ------------------------------------------------------------------------------------------ files
async function loadFiles() {
  const r = await api("GET", "/api/files");
  S.files = r.data;
  const ul = $("files");
  ul.replaceChildren();
  for (const f of S.files) {
    ul.append(el("li", {}, el("button", { type: "button", "data-path": f.path, onclick: () => openFile(f.path) },
      f.path, el("span", { class: "kind" }, f.kind))));
  }
}

async function openFile(path) {
  const r = await api("GET", "/api/files/" + path.split("/").map(encodeURIComponent).join("/"));
  if (r.status !== 200) { setStatus(false, r.data.error || String(r.status)); return; }
  S.path = path; S.kind = (S.files.find((f) => f.path === path) || {}).kind;
  S.text = r.data; S.diskText = r.data; S.etag = r.headers.get("ETag");
  S.wf = 0; S.step = null; S.plan = null; S.picked = null;
  $("current").textContent = path; $("kind").textContent = S.kind || "";
  for (const b of document.querySelectorAll("#files button")) b.classList.toggle("open", b.dataset.path === path);
  $("savemsg").textContent = "";
  await validateText(S.text);
  renderAll();
  if (S.kind === "scenario") loadPlan();
}

async function validateText(text) {
  const r = await api("POST", "/api/validate", { path: S.path, text });
  if (r.status !== 200) { setStatus(false, r.data.error || String(r.status)); return; }
  applyCheck(r.data);
}

function applyCheck(d) {
  S.ok = d.ok;
  if (d.data !== null && d.data !== undefined) S.data = d.data;
  setStatus(d.ok, d.ok ? "valid: loads as a " + (d.kind || S.kind) + " (the same check as the command line)" : errorsText(d.errors));
  S.errField = d.ok ? null : (d.errors[0] || {}).field;
}

// One change from a form: applied on the server with ruamel.yaml (comments and layout kept), then
// validated by the project's own loader.
async function edit(edits) {
  const seq = ++S.editSeq;
  const r = await api("POST", "/api/edit", { path: S.path, text: S.text, edits });
  if (seq !== S.editSeq) return;
  if (r.status !== 200) { setStatus(false, (r.data.errors && r.data.errors.length) ? errorsText(r.data.errors) : r.data.error); return; }
  S.text = r.data.text;
  applyCheck(r.data);
  renderAll();
}

async function save() {
  const r = await api("PUT", "/api/files/" + S.path.split("/").map(encodeURIComponent).join("/"), S.text, { "If-Match": S.etag || "" });
  const m = $("savemsg");
  if (r.status === 200) {
    S.etag = r.data.etag; S.diskText = S.text;
    m.className = "ok"; m.textContent = "saved " + new Date().toLocaleTimeString();
  } else if (r.status === 409) {
    m.className = "bad";
    m.textContent = "conflict: someone saved this file after you opened it. Your changes are still here; " +
      "copy them, press Reload from disk and apply them again.";
  } else if (r.status === 422) {
    m.className = "bad"; m.textContent = "not saved: " + errorsText(r.data.errors);
  } else {
    m.className = "bad"; m.textContent = "not saved: " + (r.data.error || r.status);
  }
  refreshButtons();
  if (!$("tab-audit").hidden) loadAudit();
}

async function reload() {
  if (S.path) await openFile(S.path);
}

// ------------------------------------------------------------------------------------------ tabs
function showTab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== "tab-" + name;
  if (name === "runs") loadRuns();
  if (name === "audit") loadAudit();
}

function renderAll() {
  const focus = document.activeElement && document.activeElement.id;  // keep the user's place in a form
  renderAlerts();
  renderFlow();
  if (document.activeElement !== $("yaml")) $("yaml").value = S.text;
  renderDetectors();
  refreshButtons();
  if (focus && $(focus) && document.activeElement !== $(focus)) $(focus).focus();
}

// ------------------------------------------------------------------------------------------ site view
async function loadPlan() {
  const path = S.path;
  const r = await api("GET", "/api/site?path=" + encodeURIComponent(path));
  if (path !== S.path) return;
  if (r.status !== 200) { $("picked").textContent = "site not available: " + (r.data.error || r.status); return; }
  S.plan = r.data; S.level = 0;
  renderPlan(); renderDetectors();
}

function renderPlan() {
  const svg = $("plan"); svg.replaceChildren();
  const lv = $("levels"); lv.replaceChildren();
  const P = S.plan; if (!P) return;
  P.levels.forEach((L, i) => lv.append(el("button", { type: "button", class: i === S.level ? "tab active" : "tab",
    onclick: () => { S.level = i; renderPlan(); } }, L.name)));
  const on = (x) => x.s === S.level;
  let xs = [], ys = [];
  for (const sp of P.spaces.filter(on)) for (const r of sp.rings) for (let k = 0; k < r.length; k += 2) { xs.push(r[k]); ys.push(r[k + 1]); }
  if (!xs.length) return;
  const x0 = Math.min(...xs) - 2, x1 = Math.max(...xs) + 2, y0 = Math.min(...ys) - 2, y1 = Math.max(...ys) + 2;
  svg.setAttribute("viewBox", `${x0} ${-y1} ${x1 - x0} ${y1 - y0}`);  // y up, as on a plan
  const g = sv("g", { transform: "scale(1,-1)" });
  svg.append(g);
  const pick = (kind, item, node) => () => {
    for (const n of svg.querySelectorAll(".sel")) n.classList.remove("sel");
    node.classList.add("sel");
    S.picked = { kind, name: item.name };
    $("picked").textContent = kind + ": " + item.name;
    const dl = $("picked-detail"); dl.replaceChildren();
    for (const [k, v] of Object.entries(item)) {
      if (["rings", "s", "xy"].includes(k) || v === null || v === "") continue;
      dl.append(el("dt", {}, k), el("dd", {}, Array.isArray(v) ? v.join(", ") : String(v)));
    }
    pickActions(kind, item);
    renderStepForm();
  };
  for (const sp of P.spaces.filter(on)) {
    for (const r of sp.rings) {
      const pts = []; for (let k = 0; k < r.length; k += 2) pts.push(r[k] + "," + r[k + 1]);
      const poly = sv("polygon", { points: pts.join(" "), class: sp.walk ? "space" : "space nowalk", "data-name": sp.name });
      poly.append(sv("title", {}, sp.label || sp.name));
      poly.addEventListener("click", pick("space", sp, poly));
      g.append(poly);
    }
  }
  const dot = (arr, kind, cls, r) => {
    for (const it of arr.filter(on)) {
      const c = kind === "equipment" ? sv("rect", { x: it.xy[0] - r, y: it.xy[1] - r, width: 2 * r, height: 2 * r, class: cls })
        : sv("circle", { cx: it.xy[0], cy: it.xy[1], r, class: cls });
      c.setAttribute("data-name", it.name);
      c.append(sv("title", {}, kind + " " + it.name));
      if (kind !== "alarm" && kind !== "muster") c.addEventListener("click", pick(kind, it, c));
      g.append(c);
    }
  };
  dot(P.doors, "door", "door", 0.45);
  for (const d of P.doors.filter(on)) if (d.exit) for (const n of g.querySelectorAll(".door")) if (n.getAttribute("data-name") === d.name) n.classList.add("exit");
  dot(P.equipment, "equipment", "equipment", 0.8);
  dot(P.alarms, "alarm", "alarm", 0.35);
  dot(P.sensors, "detector", "sensor", 0.7);
  dot(P.musters, "muster", "muster", 1.2);
  const labels = sv("g", {});
  for (const it of P.sensors.filter(on).concat(P.equipment.filter(on))) {
    labels.append(sv("text", { x: it.xy[0] + 1, y: -it.xy[1] - 0.6, class: "plan-label" }, it.name));
  }
  svg.append(labels);
}

// What a picked item can be used for besides a step's `to`/`zones` (offered in the step form).
function pickActions(kind, item) {
  const dl = $("picked-detail");
  const hz = S.data && Array.isArray(S.data.hazards) ? S.data.hazards : [];
  if (kind === "equipment" && hz.length) {
    dl.append(el("dd", {}, el("button", { type: "button", id: "use-as-source",
      onclick: () => edit([{ path: ["hazards", 0, "source"], value: item.name }]) }, "use as the leak source of hazard " + (hz[0].id ?? 1))));
  }
  if (kind === "detector" && item.setpoints && item.setpoints.length) {
    dl.append(el("dd", {}, el("button", { type: "button", id: "use-setpoints",
      onclick: () => edit([{ path: ["alerts"], value: { policy: "threshold", setpoints: item.setpoints } }]) },
      "alert rule: threshold at this detector's set points")));
  }
  if (kind === "detector" && item.gas && workflows()[S.wf]) {
    dl.append(el("dd", {}, el("button", { type: "button", id: "use-trigger-gas",
      onclick: () => edit([{ path: ["workflows", S.wf, "trigger"], value: { alert: item.gas, level: "low" } }]) },
      "start workflow on a " + item.gas + " alert")));
  }
}

function renderDetectors() {
  const tb = $("detectors").tBodies[0]; tb.replaceChildren();
  if (!S.plan) return;
  for (const d of S.plan.sensors) tb.append(el("tr", {}, el("td", {}, d.name), el("td", {}, d.gas || d.kind), el("td", {}, (d.setpoints || []).join(", "))));
}

// ------------------------------------------------------------------------------------------ alert rules
function fieldInput(id, spec, value, onchange) {
  const t = spec.type;
  let inp;
  if (spec.enum) {
    inp = el("select", { id });
    inp.append(el("option", { value: "" }, "(default" + (spec.default !== null && spec.default !== undefined ? ": " + spec.default : "") + ")"));
    for (const v of spec.enum) inp.append(el("option", { value: v }, v));
    inp.value = value === undefined || value === null ? "" : String(value);
  } else if (t === "boolean") {
    inp = el("select", { id });
    for (const v of ["", "true", "false"]) inp.append(el("option", { value: v }, v === "" ? "(default: " + spec.default + ")" : v));
    inp.value = value === undefined || value === null ? "" : String(value);
  } else {
    inp = el("input", { id, type: "text" });
    const isList = t === "object" || t === "array";
    inp.value = value === undefined || value === null ? "" : (Array.isArray(value) ? value.join(", ") : String(value));
    const dflt = spec.default === null || spec.default === undefined ? "" : "default " + spec.default;
    const bounds = [spec.minimum !== null && spec.minimum !== undefined ? "min " + spec.minimum : "", spec.maximum !== null && spec.maximum !== undefined ? "max " + spec.maximum : ""].filter(Boolean).join(", ");
    inp.placeholder = [isList ? "comma-separated list" : "", dflt, bounds].filter(Boolean).join("; ");
    inp.dataset.list = isList ? "1" : "";
  }
  inp.addEventListener("change", () => onchange(parseValue(inp, t)));
  return inp;
}

function parseValue(inp, type) {
  const raw = inp.value.trim();
  if (raw === "") return undefined;
  if (inp.dataset && inp.dataset.list) return raw.split(",").map((x) => x.trim()).filter(Boolean).map(num);
  if (type === "boolean") return raw === "true";
  if (type === "integer" || type === "number") return num(raw);
  return raw;
}

function num(s) { return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s) ? Number(s) : s; }

function renderAlerts() {
  const box = $("policy-fields"); box.replaceChildren();
  const sel = $("policy");
  if (!S.meta) return;
  if (!sel.options.length) for (const p of Object.keys(S.meta.policies)) sel.append(el("option", { value: p }, p));
  const scen = S.kind === "scenario" && S.data && typeof S.data === "object";
  sel.disabled = !scen;
  if (!scen) return;
  const alerts = (S.data.alerts && typeof S.data.alerts === "object") ? S.data.alerts : {};
  const pol = alerts.policy || "threshold";
  sel.value = pol;
  const spec = S.meta.policies[pol];
  $("policy-doc").textContent = spec ? spec.description : "";
  if (!spec) return;
  for (const [key, f] of Object.entries(spec.fields)) {
    const id = "f-alerts-" + key;
    const inp = fieldInput(id, f, alerts[key], (v) => edit([v === undefined ? { path: ["alerts", key], delete: true } : { path: ["alerts", key], value: v }]));
    box.append(el("label", { for: id }, key, el("span", { class: "desc" }, f.description || "")), inp);
  }
}

async function changePolicy() {
  const pol = $("policy").value;
  await edit([{ path: ["alerts"], value: { policy: pol } }]);
}

async function preview() {
  const out = $("preview-out");
  out.replaceChildren(el("p", {}, "running the scenario and a leak-free week with this rule…"));
  const r = await api("POST", "/api/preview", { path: S.path, text: S.text });
  if (r.status !== 200) { out.replaceChildren(el("p", { class: "bad" }, r.data.errors && r.data.errors.length ? errorsText(r.data.errors) : (r.data.error || r.status))); return; }
  const d = r.data;
  const fmt = (v, u) => v === null || v === undefined ? "-" : v + (u || "");
  out.replaceChildren(el("table", { id: "preview-table" },
    el("tr", {}, el("th", {}, "on a simulated leak: first alert after the leak starts"), el("td", {}, fmt(d.t_alert, " s"))),
    el("tr", {}, el("th", {}, "the detectors' own set points"), el("td", {}, fmt(d.t_alert_setpoints, " s"))),
    el("tr", {}, el("th", {}, "lead time over the set points"), el("td", { id: "lead-time" }, fmt(d.lead_time, " s"))),
    el("tr", {}, el("th", {}, "alerts in the drill (false)"), el("td", {}, fmt(d.alerts_in_drill) + " (" + fmt(d.false_alerts_in_drill) + ")")),
    el("tr", {}, el("th", {}, "false alerts per week, leak-free (" + d.detectors + " detectors)"), el("td", { id: "false-week" }, fmt(d.false_alerts_per_week)))));
}

async function coverage() {
  const out = $("coverage-out"), maps = $("coverage-maps");
  out.replaceChildren(el("p", {}, "computing the leak ensemble of this site (as drilltwin sensors evaluate)…"));
  maps.replaceChildren();
  const r = await api("POST", "/api/coverage", { path: S.path });
  if (r.status !== 200) { out.replaceChildren(el("p", { class: "bad" }, r.data.errors && r.data.errors.length ? errorsText(r.data.errors) : (r.data.error || r.status))); return; }
  const d = r.data;
  const pct = (x) => x === null || x === undefined ? "-" : Math.round(100 * x) + " %";
  const t = el("table", { id: "coverage-table" },
    el("tr", {}, el("th", {}, "geographic coverage"), el("td", {}, pct(d.geographic_coverage))),
    el("tr", {}, el("th", {}, "leak scenarios detected within " + d.time_limit_s + " s"), el("td", {}, pct((d.scenario_coverage || {})["1"]))),
    el("tr", {}, el("th", {}, "mean time to detect"), el("td", {}, d.mean_detect_s === null ? "-" : d.mean_detect_s + " s")),
    el("tr", {}, el("th", {}, "not detected"), el("td", {}, (d.undetected || []).join(", ") || "none")));
  out.replaceChildren(t);
  for (const src of d.maps || []) maps.append(el("img", { src, alt: "coverage map", class: "covmap" }));
}

// ------------------------------------------------------------------------------------------ flow editor
function workflows() { return (S.data && Array.isArray(S.data.workflows)) ? S.data.workflows : []; }

function renderFlow() {
  const wsel = $("wf-select"); wsel.replaceChildren();
  const wfs = workflows();
  wfs.forEach((w, i) => wsel.append(el("option", { value: i }, w.name || "workflow " + (i + 1))));
  if (S.wf >= wfs.length) S.wf = 0;
  wsel.value = String(S.wf);
  const ksel = $("step-kind-new");
  if (S.meta && !ksel.options.length) for (const k of Object.keys(S.meta.step_kinds)) ksel.append(el("option", { value: k }, k));
  $("add-step").disabled = !wfs.length;
  renderTrigger();
  drawGraph();
  renderStepForm();
}

function renderTrigger() {
  const box = $("trigger-form"); box.replaceChildren();
  const w = workflows()[S.wf]; if (!w) return;
  const t = w.trigger || {};
  const base = ["workflows", S.wf, "trigger"];
  const mk = (key, opts, hint) => {
    const id = "trigger-" + key;
    let inp;
    if (opts) { inp = el("select", { id }); inp.append(el("option", { value: "" }, "-")); for (const o of opts) inp.append(el("option", { value: o }, o)); }
    else inp = el("input", { id, type: "text", placeholder: hint || "" });
    inp.value = t[key] === undefined || t[key] === null ? "" : String(t[key]);
    inp.addEventListener("change", () => { const v = parseValue(inp, "string"); edit([v === undefined ? { path: [...base, key], delete: true } : { path: [...base, key], value: v }]); });
    box.append(el("div", {}, el("label", { for: id }, "trigger " + key), inp));
  };
  mk("alert", null, "gas, a gas name, or any");
  mk("level", S.meta ? S.meta.levels : null);
  mk("inject", null, "inject id");
  mk("at", null, "e.g. 5min");
}

function stepDeps(steps, k) {
  const st = steps[k];
  if (Array.isArray(st.after)) return { ids: st.after, implicit: false };
  return { ids: k > 0 ? [steps[k - 1].id] : [], implicit: true };
}

function layout(steps) {
  const ids = steps.map((s) => String(s.id));
  const depth = {};
  for (let pass = 0; pass < steps.length + 1; pass++) {
    steps.forEach((s, k) => {
      const d = stepDeps(steps, k).ids.filter((x) => ids.includes(String(x))).map((x) => (depth[x] ?? 0) + 1);
      depth[String(s.id)] = d.length ? Math.max(...d) : 0;
    });
  }
  const col = {}; const pos = {};
  for (const id of ids) { const d = Math.min(depth[id] || 0, steps.length); col[d] = (col[d] || 0) + 1; pos[id] = { x: 20 + d * 190, y: 20 + (col[d] - 1) * 80 }; }
  return pos;
}

function drawGraph() {
  const svg = $("flow-svg"); svg.replaceChildren();
  const w = workflows()[S.wf];
  if (!w || !Array.isArray(w.steps)) return;
  const steps = w.steps.filter((s) => s && typeof s === "object");
  const defs = sv("defs");
  const mk = sv("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  mk.append(sv("path", { d: "M0,0 L10,5 L0,10 z", fill: "#4a5568" }));
  defs.append(mk); svg.append(defs);
  const pos = layout(steps);
  const W = 150, H = 46;
  let maxx = 400, maxy = 300;
  for (const p of Object.values(pos)) { maxx = Math.max(maxx, p.x + W + 40); maxy = Math.max(maxy, p.y + H + 40); }
  svg.setAttribute("viewBox", `0 0 ${maxx} ${maxy}`);
  const errStep = (() => { const m = /^workflows\[(\d+)\]\.steps\[(\d+)\]/.exec(S.errField || ""); return m && Number(m[1]) === S.wf ? Number(m[2]) : -1; })();
  steps.forEach((s, k) => {
    const dep = stepDeps(steps, k);
    for (const a of dep.ids) {
      const p = pos[String(a)], q = pos[String(s.id)];
      if (!p || !q) continue;
      const path = sv("path", { d: `M${p.x + W},${p.y + H / 2} C${p.x + W + 30},${p.y + H / 2} ${q.x - 30},${q.y + H / 2} ${q.x},${q.y + H / 2}`,
        class: dep.implicit ? "edge implicit" : "edge", "data-from": a, "data-to": s.id });
      path.append(sv("title", {}, dep.implicit ? "runs after the step above it (no 'after' given)" : "click to remove: " + s.id + " waits for " + a));
      if (!dep.implicit) path.addEventListener("click", () => { edit([{ path: ["workflows", S.wf, "steps", k, "after"], value: s.after.filter((x) => x !== a) }]); });
      svg.append(path);
    }
  });
  steps.forEach((s, k) => {
    const p = pos[String(s.id)];
    const g = sv("g", { class: "node" + (S.step === k ? " sel" : "") + (errStep === k ? " err" : ""), transform: `translate(${p.x},${p.y})`, "data-id": s.id, "data-index": k });
    g.append(sv("rect", { width: W, height: H, rx: 5 }));
    g.append(sv("text", { x: 8, y: 18 }, String(s.id)));
    g.append(sv("text", { x: 8, y: 36, class: "kind" }, s.kind + (s.role ? " · " + s.role : "") + (s.timeout ? " · " + s.timeout : "")));
    const port = sv("circle", { cx: W, cy: H / 2, r: 6, class: "port" });
    port.append(sv("title", {}, "drag to the step that should wait for this one"));
    g.append(port);
    g.addEventListener("click", () => { S.step = k; drawGraph(); renderStepForm(); });
    port.addEventListener("mousedown", (ev) => { ev.stopPropagation(); ev.preventDefault(); startDrag(k, ev); });
    svg.append(g);
  });
}

function svgPoint(svg, ev) {
  const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
  return pt.matrixTransform(svg.getScreenCTM().inverse());
}

function startDrag(k, ev) {
  const svg = $("flow-svg");
  const p0 = svgPoint(svg, ev);
  const line = sv("line", { x1: p0.x, y1: p0.y, x2: p0.x, y2: p0.y, class: "dragline" });
  svg.append(line);
  const move = (e) => { const p = svgPoint(svg, e); line.setAttribute("x2", p.x); line.setAttribute("y2", p.y); };
  const up = (e) => {
    window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
    line.remove();
    const hit = document.elementFromPoint(e.clientX, e.clientY);
    const node = hit && hit.closest ? hit.closest(".node") : null;
    if (node) connect(k, Number(node.getAttribute("data-index")));
  };
  window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
}

function connect(from, to) {
  if (from === to) return;
  const steps = workflows()[S.wf].steps;
  const dep = stepDeps(steps, to);
  const a = String(steps[from].id);
  if (dep.ids.map(String).includes(a) && !dep.implicit) return;
  const after = (dep.implicit ? dep.ids.slice() : steps[to].after.slice()).filter((x) => String(x) !== a).concat([a]);
  edit([{ path: ["workflows", S.wf, "steps", to, "after"], value: after }]);
}

const STEP_HINTS = {
  role: "a role of this workflow", channel: "", message: "text", timeout: "e.g. 60s", escalate_to: "roles, comma-separated",
  zones: "spaces, storey:NAME, alert_zone, adjacent or *", count: "people", to: "alert_location or a space",
  per_person: "s per person", travel: "e.g. 5min", description: "", renotify: "e.g. 5min, or never", max_renotify: "times",
};

function renderStepForm() {
  const box = $("step-form"); box.replaceChildren();
  const w = workflows()[S.wf];
  if (!w || S.step === null || !w.steps || !w.steps[S.step]) { box.append(el("p", { class: "help" }, "Click a step to configure it.")); return; }
  const st = w.steps[S.step];
  const k = S.step;
  const base = ["workflows", S.wf, "steps", k];
  box.append(el("h3", {}, "Step " + st.id));
  const kinds = S.meta ? S.meta.step_kinds : {};
  const kindSel = el("select", { id: "step-kind" });
  for (const kk of Object.keys(kinds)) kindSel.append(el("option", { value: kk }, kk));
  kindSel.value = st.kind;
  kindSel.addEventListener("change", () => {
    const keep = { id: st.id, kind: kindSel.value };
    if (st.after) keep.after = st.after;
    edit([{ path: base, value: keep }]);
  });
  const idIn = el("input", { id: "step-id", type: "text", value: st.id });
  idIn.addEventListener("change", () => edit([{ path: [...base, "id"], value: idIn.value.trim() }]));
  box.append(el("label", { for: "step-id" }, "id"), idIn, el("label", { for: "step-kind" }, "kind"), kindSel);
  const spec = kinds[st.kind] || { required: [], optional: [] };
  const roles = Object.keys(w.roles || {});
  const fields = spec.required.concat(spec.optional).filter((f) => !["steps", "then", "else", "condition", "task"].includes(f)).concat(["description"]);
  for (const f of fields) {
    const id = "step-" + f;
    let inp;
    const cur = st[f];
    if (f === "role") { inp = el("select", { id }); inp.append(el("option", { value: "" }, "-")); for (const r of roles) inp.append(el("option", { value: r }, r)); }
    else if (f === "channel") { inp = el("select", { id }); inp.append(el("option", { value: "" }, "-")); for (const c of (S.meta ? S.meta.channels : []).concat(Object.keys(w.channels || {}))) inp.append(el("option", { value: c }, c)); }
    else inp = el("input", { id, type: "text", placeholder: STEP_HINTS[f] || "" });
    inp.value = cur === undefined || cur === null ? "" : (Array.isArray(cur) ? cur.join(", ") : String(cur));
    if (["escalate_to", "zones"].includes(f)) inp.dataset.list = "1";
    inp.addEventListener("change", () => {
      const v = parseValue(inp, f === "count" ? "integer" : "string");
      edit([v === undefined ? { path: [...base, f], delete: true } : { path: [...base, f], value: v }]);
    });
    const lab = el("label", { for: id }, f + (spec.required.includes(f) ? " *" : ""));
    box.append(lab, inp);
    if (["to", "zones"].includes(f) && S.picked && S.picked.kind === "space") {
      box.append(el("button", { type: "button", id: "use-pick-" + f, onclick: () => {
        const v = f === "zones" ? (Array.isArray(cur) ? cur.concat([S.picked.name]) : [S.picked.name]) : S.picked.name;
        edit([{ path: [...base, f], value: v }]);
      } }, "use " + S.picked.kind + " " + S.picked.name));
    }
  }
  if (st.task) box.append(el("p", { class: "help" }, "task: " + JSON.stringify(st.task) + " (edit in the YAML tab)"));
  box.append(el("p", {}, el("button", { type: "button", id: "del-step", onclick: () => { S.step = null; edit([{ path: base, delete: true }]); } }, "Delete step")));
}

function addStep() {
  const w = workflows()[S.wf]; if (!w) return;
  const kind = $("step-kind-new").value;
  const ids = new Set((w.steps || []).map((s) => String(s.id)));
  let n = 1; while (ids.has(kind + n)) n++;
  const st = { id: kind + n, kind };
  const req = (S.meta.step_kinds[kind] || {}).required || [];
  const role = Object.keys(w.roles || {})[0];
  if (req.includes("role") && role) st.role = role;
  if (req.includes("channel")) st.channel = S.meta.channels[0];
  if (req.includes("timeout")) st.timeout = "60s";
  if (req.includes("to")) st.to = "alert_location";
  S.step = (w.steps || []).length;
  edit([{ path: ["workflows", S.wf, "steps", S.step], value: st }]);
}

// ------------------------------------------------------------------------------------------ runs
const KPI_ORDER = ["t_detect", "t_alert", "t_ack", "t_alarm", "t_isolate", "t_evacuated", "t_mustered", "t_headcount",
  "occupants", "safe", "trapped", "incapacitated", "exposed_idlh", "peak_dose", "false_alerts"];

async function startRun() {
  const r = await api("POST", "/api/runs", { path: S.path });
  if (r.status !== 202) { $("run-msg").textContent = "not started: " + (r.data.error || r.status); return; }
  $("run-msg").textContent = "run " + r.data.id + " queued";
  pollRun(r.data.id);
}

function pollRun(id) {
  clearTimeout(S.runPoll);
  const tick = async () => {
    const r = await api("GET", "/api/runs/" + encodeURIComponent(id));
    if (r.status !== 200) return;
    showRun(r.data);
    if (r.data.status === "queued" || r.data.status === "running") S.runPoll = setTimeout(tick, 400);
    else loadRuns();
  };
  tick();
}

function showRun(d) {
  const box = $("run-current"); box.replaceChildren();
  box.append(el("h3", {}, "Run " + d.id + " · " + d.path));
  box.append(el("p", {}, el("progress", { id: "run-progress", max: 1, value: d.progress }), " ", el("span", { id: "run-status" }, d.status)));
  if (d.error) box.append(el("p", { class: "bad" }, d.error));
  if (d.status === "done") {
    const links = el("p", {}, el("a", { href: "/api/runs/" + encodeURIComponent(d.id) + "/report.html", target: "_blank", rel: "noopener", id: "run-report" }, "after-action report"));
    if (d.replay) links.append(" · ", el("a", { href: "/api/runs/" + encodeURIComponent(d.id) + "/replay.html", target: "_blank", rel: "noopener", id: "run-replay" }, "replay"));
    box.append(links);
    if (d.kind === "drill" && d.kpis) {
      const t = el("table", { id: "run-kpis", class: "kpis" }, el("tr", {}, el("th", {}, "KPI"), el("th", {}, "value")));
      const keys = KPI_ORDER.filter((k) => k in d.kpis).concat(Object.keys(d.kpis).filter((k) => !KPI_ORDER.includes(k) && typeof d.kpis[k] !== "object"));
      for (const k of keys) t.append(el("tr", { "data-kpi": k }, el("td", {}, k), el("td", {}, d.kpis[k] === null ? "-" : String(d.kpis[k]))));
      box.append(t);
    } else if (d.kpis && d.kpis.table) {
      const t = el("table", { id: "run-kpis", class: "kpis" }, el("tr", {}, ...["KPI", "arm", "runs", "mean", "diff vs base", "p"].map((h) => el("th", {}, h))));
      for (const r of d.kpis.table) t.append(el("tr", {}, ...["kpi", "arm", "n", "mean", "diff_mean", "p_value"].map((k) => el("td", {}, r[k] === null || r[k] === undefined ? "-" : String(r[k])))));
      box.append(t);
    }
  }
}

async function loadRuns() {
  const r = await api("GET", "/api/runs");
  const tb = $("runs").tBodies[0]; tb.replaceChildren();
  if (r.status !== 200) return;
  for (const d of r.data) {
    tb.append(el("tr", {}, el("td", {}, d.id), el("td", {}, d.path), el("td", {}, d.user), el("td", {}, d.status),
      el("td", {}, d.started), el("td", {}, el("button", { type: "button", onclick: () => pollRun(d.id) }, "show"))));
  }
}

// ------------------------------------------------------------------------------------------ audit
async function loadAudit() {
  const tb = $("audit").tBodies[0]; tb.replaceChildren();
  if (!S.token) { tb.append(el("tr", {}, el("td", { colspan: 6 }, "log in to see the audit log"))); return; }
  const r = await api("GET", "/api/audit");
  if (r.status !== 200) { tb.append(el("tr", {}, el("td", { colspan: 6 }, r.data.error || r.status))); return; }
  for (const e of r.data) {
    tb.append(el("tr", { class: "audit-row", "data-path": e.path }, el("td", {}, e.time), el("td", {}, e.user), el("td", {}, e.action),
      el("td", {}, e.path), el("td", {}, (e.before_sha256 || "").slice(0, 12)), el("td", {}, (e.after_sha256 || "").slice(0, 12))));
    if (e.diff) {
      const pre = el("pre", { class: "diff" });
      for (const line of e.diff.split("\n")) pre.append(el("span", { class: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "" }, line + "\n"));
      tb.append(el("tr", {}, el("td", { colspan: 6 }, pre)));
    }
  }
}

// ------------------------------------------------------------------------------------------ start
let yamlTimer = null;
async function init() {
  $("login").addEventListener("click", login);
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") login(); });
  $("logout").addEventListener("click", logout);
  $("save").addEventListener("click", save);
  $("reload").addEventListener("click", reload);
  $("policy").addEventListener("change", changePolicy);
  $("preview").addEventListener("click", preview);
  $("coverage").addEventListener("click", coverage);
  $("wf-select").addEventListener("change", () => { S.wf = Number($("wf-select").value); S.step = null; renderFlow(); });
  $("add-step").addEventListener("click", addStep);
  $("run-file").addEventListener("click", startRun);
  $("audit-refresh").addEventListener("click", loadAudit);
  $("yaml").addEventListener("input", () => {
    S.text = $("yaml").value; refreshButtons();
    clearTimeout(yamlTimer);
    yamlTimer = setTimeout(async () => { await validateText(S.text); renderAlerts(); renderFlow(); }, 400);
  });
  for (const b of document.querySelectorAll("#tabs .tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  showTab("site");
  const m = await api("GET", "/api/meta");
  S.meta = m.data;
  await loadFiles();
  if (S.token) await login();
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", init);
