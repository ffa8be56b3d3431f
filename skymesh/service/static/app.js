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
  if (!r.ok) throw new Error(data.detail || r.statusText);
  return data;
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
  const pending = await api("GET", "/proposals?status=pending");
  if (!pending.length) box.textContent = "none";
  for (const p of pending) {
    const d = el("div", undefined, {class: "proposal", "data-id": p.id});
    const c = p.change;
    d.appendChild(el("div", `#${p.id} ${c.kind} ${c.iso2 || ""} → ${c.state ?? c.censoring ?? ""}` +
                            ` by ${p.author}: ${p.reason}`));
    d.appendChild(el("div", p.reduces_service ? "reduces service: needs a second person"
                                              : "restores service: one approval"));
    const eff = el("div", "effect: computing…", {class: "effect"});
    d.appendChild(eff);
    api("GET", `/proposals/${p.id}/effect`).then((e) => { eff.textContent = "effect: " + e.summary; })
      .catch((e) => { eff.textContent = "effect: " + e.message; });
    if (me && ["approver", "admin"].includes(me.role)) {
      const ok = el("button", "approve", {"data-action": "approve"});
      ok.onclick = () => decide(p.id, "approve");
      const no = el("button", "reject", {"data-action": "reject"});
      no.onclick = () => decide(p.id, "reject");
      d.append(ok, no);
    }
    box.appendChild(d);
  }
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

async function decide(id, what) {
  try {
    const reason = what === "reject" ? (prompt("reason for rejecting") || "") : undefined;
    await api("POST", `/proposals/${id}/${what}`, reason === undefined ? {} : {reason});
  } catch (e) { alert(e.message); }
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
    await refresh();
  } catch (e) { $("login-error").textContent = e.message; }
};

$("logout").onclick = async () => {
  try { await api("POST", "/auth/logout"); } catch (e) { /* the session may have expired */ }
  csrf = me = null;
  $("who").textContent = "not signed in";
  $("signin").classList.remove("hidden"); $("logout").classList.add("hidden");
};

$("propose").onclick = async () => {
  const kind = $("p-kind").value, off = $("p-state").value === "inactive";
  const state = kind === "service" ? (off ? "inactive" : "active") : (off ? "denied" : "granted");
  try {
    const p = await api("POST", "/proposals", {change: {kind, iso2: $("p-iso2").value.toUpperCase(),
                                               state}, reason: $("p-reason").value});
    $("p-msg").textContent = `proposal #${p.id} made`;
  } catch (e) { $("p-msg").textContent = e.message; }
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

$("at").oninput = drawMap;

(async () => {
  world = await (await fetch("/dashboard/world.geojson")).json();
  try { me = await api("GET", "/me"); } catch (e) { me = null; }
})();
