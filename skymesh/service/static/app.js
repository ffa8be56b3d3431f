// SkyMesh operations dashboard: plain DOM, no framework. Text goes in with textContent only.
"use strict";
let csrf = null, me = null, world = null, timeline = null;
const $ = (id) => document.getElementById(id);

async function api(method, url, body) {
  const opts = {method, headers: {}, credentials: "same-origin"};
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json";
                            opts.body = JSON.stringify(body); }
  if (method !== "GET" && csrf) opts.headers["X-CSRF-Token"] = csrf;
  const r = await fetch(url, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const d = data && data.detail !== undefined ? data.detail : (data || r.statusText);
    const err = new Error(typeof d === "string" ? d : JSON.stringify(d));
    err.status = r.status;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------ refusals
// Every refused action says so in the page, with the API's reason (its `detail`) and, where
// only the database holder can do it, the local command to run.
function refusalText(action, e, local) {
  const status = e.status ? ` (HTTP ${e.status})` : "";
  let text = `${action} refused${status}: ${e.message}`;
  if (local && e.status === 403 && /skymesh users|not possible through the API/.test(e.message))
    text += `. Locally, the database holder runs: ${local}`;
  return text;
}

function showRefusal(target, action, e, local) {
  target.textContent = refusalText(action, e, local);
  target.classList.add("refusal");
  target.classList.remove("ok");
}

function showOk(target, text) {
  target.textContent = text;
  target.classList.add("ok");
  target.classList.remove("refusal");
}

const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, text, attrs) {
  const e = ["path", "title", "g", "circle"].includes(tag) ? document.createElementNS(SVG_NS, tag)
                                                 : document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function project([lon, lat]) { return [(lon + 180) * 2, (90 - lat) * 2]; }

function ringPath(ring) {
  return ring.map((p, i) => (i ? "L" : "M") + project(p).map((v) => v.toFixed(1)).join(","))
             .join("") + "Z";
}

// A country smaller than this (deg^2, lon/lat area; Taiwan is 3) is a few pixels at world
// scale: when the policy switches it off it also gets a ring (as SkyMesh's maps do).
const SMALL_COUNTRY_DEG2 = 4;

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++)
    a += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  return Math.abs(a / 2);
}

// The centre (of the largest outer ring's bounding box) of a small country, else null.
function smallCountryCentre(polys) {
  const outer = polys.map((poly) => poly[0]);
  const areas = outer.map(ringArea);
  if (areas.reduce((a, b) => a + b, 0) >= SMALL_COUNTRY_DEG2) return null;
  const big = outer[areas.indexOf(Math.max(...areas))];
  const xs = big.map((p) => p[0]), ys = big.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

function stateAt(iso2, t) {
  const c = timeline.countries[iso2];
  for (const it of (c && c.service) || []) {
    const a = it.from ? Date.parse(it.from) : -Infinity;
    const b = it.until ? Date.parse(it.until) : Infinity;
    if (a <= t && t < b) return it.state;
  }
  return null;
}

function instant() { return Date.now() + Number($("at").value) * 3600e3; }

function drawMap() {
  if (!world || !timeline) return;
  const t = instant();
  $("at-label").textContent = new Date(t).toISOString().slice(0, 16).replace("T", " ");
  $("default-state").textContent = timeline.default_service;
  const svg = $("map");
  svg.replaceChildren();
  const rings = [];
  for (const f of world.features) {
    const iso2 = f.properties.iso2;
    const g = f.geometry, polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    const state = stateAt(iso2, t);
    const p = el("path", undefined, {d: polys.map((poly) => poly.map(ringPath).join("")).join(""),
      class: "country " + (state === "active" ? "active" : state === "inactive" ? "inactive"
                                                                                 : "unlisted"),
      "data-iso2": iso2, "data-state": state || "default"});
    const title = el("title", `${f.properties.name} (${iso2}): ${state || timeline.default_service}`);
    p.appendChild(title);
    svg.appendChild(p);
    const centre = state === "inactive" ? smallCountryCentre(polys) : null;
    if (centre) {
      const [x, y] = project(centre);
      const ring = el("circle", undefined, {cx: x.toFixed(1), cy: y.toFixed(1), r: "6",
        class: "small-country inactive", "data-iso2": iso2});
      ring.appendChild(el("title", `${f.properties.name} (${iso2}): inactive`));
      rings.push(ring);
    }
  }
  for (const r of rings) svg.appendChild(r);   // on top of every country
}

async function refresh() {
  timeline = await api("GET", "/policy/timeline");
  drawMap();
  const box = $("proposals");
  box.replaceChildren();
  const all = await api("GET", "/proposals");
  const pending = all.filter((p) => p.status === "pending");
  if (!pending.length) box.textContent = "none";
  for (const p of pending) box.appendChild(proposalView(p, true));
  const done = $("decided");
  done.replaceChildren();
  const decided = all.filter((p) => p.status !== "pending").slice(-5).reverse();
  if (!decided.length) done.textContent = "none";
  for (const p of decided) done.appendChild(proposalView(p, false));
  const rows = await api("GET", "/audit?limit=1000");
  const tb = $("audit");
  tb.replaceChildren();
  for (const r of rows.slice(-30).reverse()) {
    const tr = el("tr");
    for (const v of [r.seq, r.at.slice(0, 19).replace("T", " "), r.actor, r.action,
                     JSON.stringify(r.detail)]) tr.appendChild(el("td", String(v)));
    tb.appendChild(tr);
  }
}

// ------------------------------------------------------------------ proposal details
function changeText(c) {
  if (c.kind === "import") return "import a whole policy (TOML)";
  const what = c.state ?? (c.censoring === undefined ? undefined : `censoring ${c.censoring}`);
  const parts = [c.kind, c.iso2 || ""];
  if (what !== undefined) parts.push("→ " + what);
  if (c.from || c.until) parts.push(`(${c.from || "now"} … ${c.until || "open"})`);
  return parts.filter(Boolean).join(" ");
}

function approvalsText(p) {
  if (p.status === "approved") return `approved by ${p.decided_by} at ${p.decided_at}` +
                                      (p.decision_reason ? `: ${p.decision_reason}` : "");
  if (p.status === "rejected") return `rejected by ${p.decided_by} at ${p.decided_at}` +
                                      (p.decision_reason ? `: ${p.decision_reason}` : "");
  if (p.status === "expired") return "none (expired undecided)";
  return p.reduces_service
    ? `none yet; needs one approver independent of ${p.author} (two-person rule)`
    : "none yet; needs one approver (may be the author)";
}

function proposalView(p, pending) {
  const d = el("div", undefined, {class: pending ? "proposal" : "decided", "data-id": p.id, "data-status": p.status});
  d.appendChild(el("strong", `#${p.id} ${changeText(p.change)}`));
  const dl = el("dl");
  const row = (k, v, cls) => {
    dl.appendChild(el("dt", k));
    dl.appendChild(el("dd", v, {"data-field": cls || k}));
  };
  row("proposed by", `${p.author} at ${p.created_at}`, "author");
  row("reason", p.reason);
  row("change", JSON.stringify(p.change), "change");
  row("reduces service", p.reduces_service ? "yes: needs a second, independent person"
                                           : "no: one approval", "reduces_service");
  row("status", p.status);
  row("expires", p.expires_at, "expires_at");
  row("approvals", approvalsText(p), "approvals");
  d.appendChild(dl);
  if (pending) {
    const eff = el("div", "effect: computing…", {class: "effect"});
    d.appendChild(eff);
    api("GET", `/proposals/${p.id}/effect`).then((e) => { eff.textContent = "effect: " + e.summary; })
      .catch((e) => { showRefusal(eff, "effect", e); });
    const msg = el("div", "", {class: "refusal", role: "alert"});
    if (me && ["approver", "admin"].includes(me.role)) {
      const ok = el("button", "approve", {"data-action": "approve"});
      ok.onclick = () => decide(p.id, "approve", msg);
      const why = el("input", undefined, {placeholder: "reason (needed to reject)",
                                          class: "decision-reason", size: "24"});
      const no = el("button", "reject", {"data-action": "reject"});
      no.onclick = () => decide(p.id, "reject", msg, why.value);
      d.append(ok, why, no);
    }
    d.appendChild(msg);
  }
  return d;
}

// A refused decision stays on its proposal with the reason; only a success refreshes.
async function decide(id, what, msg, reason) {
  msg.textContent = "";
  try {
    await api("POST", `/proposals/${id}/${what}`, what === "reject" ? {reason: reason || ""} : {});
  } catch (e) {
    showRefusal(msg, `${what} #${id}`, e);
    return;
  }
  await refresh();
}

$("login").onclick = async () => {
  $("login-error").textContent = "";
  try {
    const r = await api("POST", "/auth/login", {name: $("name").value, token: $("token").value});
    csrf = r.csrf; me = r;
    $("who").textContent = `${r.name} (${r.role})`;
    $("signin").classList.add("hidden"); $("logout").classList.remove("hidden");
    $("token").value = "";
    $("notice").textContent = "";
    await refresh();
    await refreshAccounts();
  } catch (e) { $("login-error").textContent = e.message; }
};

$("logout").onclick = async () => {
  try { await api("POST", "/auth/logout"); } catch (e) { /* the session may have expired */ }
  csrf = me = null;
  $("who").textContent = "not signed in";
  $("signin").classList.remove("hidden"); $("logout").classList.add("hidden");
  $("accounts-box").classList.add("hidden"); $("tokens-box").classList.add("hidden");
  for (const id of ["accounts", "my-tokens"]) $(id).replaceChildren();
  for (const id of ["u-msg", "t-msg", "p-msg"]) $(id).textContent = "";
};

$("propose").onclick = async () => {
  const kind = $("p-kind").value, off = $("p-state").value === "inactive";
  const state = kind === "service" ? (off ? "inactive" : "active") : (off ? "denied" : "granted");
  try {
    const p = await api("POST", "/proposals", {change: {kind, iso2: $("p-iso2").value.toUpperCase(),
                                               state}, reason: $("p-reason").value});
    showOk($("p-msg"), `proposal #${p.id} made`);
  } catch (e) { showRefusal($("p-msg"), "propose", e); return; }
  await refresh();
};

$("readout").onclick = async () => {
  $("r-out").textContent = "computing…";
  try {
    const r = await api("GET", `/readouts/country/${$("r-iso2").value.toUpperCase()}`);
    const s = r.shares, pct = (x) => (100 * x).toFixed(1) + " %";
    $("r-out").textContent = `${r.iso2} at ${r.at}: served ${pct(s.served)}, geofenced ` +
      `${pct(s.geofenced)}, no coverage ${pct(s.no_coverage)}, no exit ${pct(s.no_exit)} ` +
      `(${r.terminals} terminals placed by population)`;
  } catch (e) { $("r-out").textContent = e.message; }
};

$("rtt").onclick = async () => {
  $("rtt-out").textContent = "computing…";
  try {
    const q = new URLSearchParams({a: $("r-a").value, b: $("r-b").value});
    const r = await api("GET", `/readouts/rtt?${q}`);
    // The names of skymesh.metrics: rtt_ms is the user's RTT, space_rtt_ms propagation only.
    const label = {rtt_ms: "RTT (user, with access)", space_rtt_ms: "space RTT (propagation only)"};
    const parts = ["rtt_ms", "space_rtt_ms"]
      .map((k) => `${label[k]} ${r[k] === null ? "n/a" : r[k].toFixed(1)} ms`);
    for (const [k, v] of Object.entries(r.components_ms || {})) if (k !== "rtt_ms" && k !== "space_rtt_ms" && v !== null) parts.push(`${k.replace(/_ms$/, "")} ${v.toFixed(1)} ms`);
    $("rtt-out").textContent = `${r.a} → ${r.b} at ${r.at}: ${parts.join(", ") || "unreachable"}`;
  } catch (e) { $("rtt-out").textContent = e.message; }
};

$("visible").onclick = async () => {
  $("vis-out").textContent = "computing…";
  try {
    const r = await api("GET", `/readouts/visible?${new URLSearchParams({place: $("r-place").value})}`);
    const top = r.satellites.slice(0, 3).map((s) => `${s.name} ${s.elevation_deg}°`).join(", ");
    $("vis-out").textContent = `${r.count} satellites in view of ${r.place}` + (top ? `: ${top}` : "");
  } catch (e) { $("vis-out").textContent = e.message; }
};

// ------------------------------------------------------------------ accounts and tokens
// Within the trust rules: an admin adds viewers and operators, lowers roles and revokes
// accounts; approvers and admins are made only by the database holder (`skymesh users`).
// Anyone lists, makes and revokes their own API tokens.
async function refreshAccounts() {
  if (!me) return;
  $("tokens-box").classList.remove("hidden");
  $("accounts-box").classList.remove("hidden");
  await refreshTokens();
  const tb = $("accounts");
  tb.replaceChildren();
  let users;
  try { users = await api("GET", "/users"); } catch (e) {
    showRefusal($("u-msg"), "listing accounts", e);
    return;
  }
  for (const u of users) {
    const tr = el("tr", undefined, {"data-user": u.name});
    tr.appendChild(el("td", u.name));
    const cell = el("td");
    const sel = el("select", undefined, {class: "u-role"});
    for (const r of ["viewer", "operator", "approver", "admin"]) {
      const o = el("option", r, {value: r});
      if (r === u.role) o.selected = true;
      sel.appendChild(o);
    }
    const set = el("button", "set role", {"data-action": "set-role"});
    set.onclick = () => accountAction(`role of ${u.name}`, "PATCH", `/users/${u.name}`,
      {role: sel.value}, `skymesh users add NAME --role ${sel.value} (a new account)`);
    cell.append(sel, set);
    tr.appendChild(cell);
    tr.appendChild(el("td", u.active ? "active" : "revoked", {"data-field": "state"}));
    const act = el("td");
    const rev = u.active ? el("button", "revoke", {"data-action": "revoke-user"})
                         : el("button", "re-activate", {"data-action": "activate-user"});
    rev.onclick = () => accountAction(`${u.active ? "revoking" : "re-activating"} ${u.name}`,
      "PATCH", `/users/${u.name}`, {active: !u.active},
      `skymesh users add NAME --role ${u.role} (a new account)`);
    act.appendChild(rev);
    tr.appendChild(act);
    tb.appendChild(tr);
  }
}

async function accountAction(what, method, url, body, local) {
  try {
    const r = await api(method, url, body);
    showOk($("u-msg"), `${what}: done (${r.name} is ${r.role}, ${r.active ? "active" : "revoked"})`);
  } catch (e) {
    showRefusal($("u-msg"), what, e, local);
    await refreshAccounts();
    showRefusal($("u-msg"), what, e, local);  // refreshAccounts may overwrite it
    return;
  }
  await refreshAccounts();
  await refresh();
}

$("u-add").onclick = async () => {
  const name = $("u-name").value.trim(), role = $("u-role").value;
  try {
    const r = await api("POST", "/users", {name, role});
    showOk($("u-msg"), `${r.role} ${r.name} added; token (shown once, give it to them): ` +
                       `${r.token} (expires ${r.expires_at})`);
    $("u-name").value = "";
  } catch (e) {
    showRefusal($("u-msg"), `adding ${role} ${name}`, e, `skymesh users add ${name} --role ${role}`);
    return;
  }
  const keep = $("u-msg").textContent;
  await refreshAccounts();
  showOk($("u-msg"), keep);
};

async function refreshTokens() {
  const tb = $("my-tokens");
  tb.replaceChildren();
  let rows;
  try { rows = await api("GET", "/me/tokens"); } catch (e) {
    showRefusal($("t-msg"), "listing my tokens", e);
    return;
  }
  for (const t of rows) {
    const tr = el("tr", undefined, {"data-token": t.token_id});
    tr.appendChild(el("td", t.token_id));
    tr.appendChild(el("td", t.expires_at.slice(0, 19).replace("T", " ")));
    const b = el("button", "revoke", {"data-action": "revoke-token"});
    b.onclick = async () => {
      try { await api("DELETE", `/tokens/${t.token_id}`); } catch (e) {
        showRefusal($("t-msg"), `revoking token ${t.token_id}`, e);
        return;
      }
      showOk($("t-msg"), `token ${t.token_id} revoked`);
      await refreshTokens();
    };
    const td = el("td");
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

$("t-mint").onclick = async () => {
  try {
    const r = await api("POST", `/users/${me.name}/tokens`);
    showOk($("t-msg"), `new token ${r.token_id} (shown once, keep it): ${r.token}` +
                       ` (expires ${r.expires_at})`);
  } catch (e) {
    showRefusal($("t-msg"), "making a token", e, `skymesh users token ${me.name}`);
    return;
  }
  await refreshTokens();
};

$("at").oninput = drawMap;

// Anything refused that no section caught still shows, with its reason, at the top.
window.addEventListener("unhandledrejection", (ev) => {
  showRefusal($("notice"), "request", ev.reason instanceof Error ? ev.reason
                                                                 : new Error(String(ev.reason)));
});

(async () => {
  world = await (await fetch("/dashboard/world.geojson")).json();
  try { me = await api("GET", "/me"); } catch (e) { me = null; }
})();
