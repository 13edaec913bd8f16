/**
 * The dashboard page (GET /, served by the coverage function): a static shell, the same bytes for every
 * caller, holding no data. Its script takes a bearer token (from the URL's fragment `#token=<JWT>`, which a
 * browser never sends to a server nor puts in a Referer, kept in sessionStorage; or pasted into the form),
 * then reads GET /dashboard/data (runs, plans) and GET /coverage with `Authorization: Bearer`, exactly as the
 * CLI reads them: every datum passes the same JWT authorizer and cbr_projects scope. A browser cannot send an
 * Authorization header when it navigates, so the shell route itself has no authorizer (the one such GET).
 *
 * No framework, no build step: one HTML text with its CSS and script inline, allowed by a Content-Security-Policy
 * naming their hashes (no other script, style, frame or form target); data is put in with textContent and
 * SVG attributes, never parsed as HTML. Polls every 2 s while a run is PENDING/RUNNING (else every 15 s;
 * coverage every 60 s and whenever a run ends), and not while the tab is hidden.
 */
import { createHash } from 'node:crypto';

/** One colour per step, for the timeline bars and their legend. */
const STEP_COLORS: Record<string, string> = {
  'create-vault': '#7e57c2', 'await-payment': '#8d6e63', 'add-resources': '#00897b',
  'start-checkpoint': '#1f6fd1', 'check-status': '#43a047', 'share-backup': '#f9a825',
};

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5rem 2rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.3rem;margin:1rem 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
#meta{color:#5b6475;font-size:.85rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e3e6eb;vertical-align:middle;white-space:nowrap}
th{font-weight:600;color:#5b6475;font-size:.8rem}td.wrap{white-space:normal}code{font-size:.8rem}
.st{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;font-weight:600;color:#fff;background:#7a8394}
.COMPLETED,.protected{background:#2e8540}.FAILED,.EXPIRED,.unprotected,.missing{background:#c62828}
.PARTIAL,.stale,.share-missing{background:#c77700}.RUNNING,.PENDING{background:#1f6fd1}.deleted{background:#9aa1ad}
svg{display:block}.legend span{display:inline-block;margin-right:.8rem;font-size:.8rem}
.legend i{display:inline-block;width:.8rem;height:.6rem;margin-right:.25rem;vertical-align:baseline}
#login{max-width:48rem;background:#fff;border:1px solid #e3e6eb;padding:1rem}#login textarea{width:100%;height:5rem}
#error{color:#c62828}[hidden]{display:none}
${Object.entries(STEP_COLORS).map(([step, color]) => `.k-${step}{background:${color}}`).join('')}`;

const SCRIPT = `
"use strict";
var KEY = "cbr-flow-token", COLORS = ${JSON.stringify(STEP_COLORS)}, STEPS = Object.keys(COLORS);
var SVGNS = "http://www.w3.org/2000/svg", token = null, runsTimer = null, lastCoverage = 0, finished = {};
function $(id) { return document.getElementById(id); }
function el(tag, attrs, kids) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  (kids || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return e;
}
function svg(tag, attrs) { var e = document.createElementNS(SVGNS, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); return e; }
function badge(text) { return el("span", { "class": "st " + text }, [text]); }
function dur(ms) {
  var s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}
function utc(iso) { return iso ? iso.slice(0, 19).replace("T", " ") : "-"; }
function timeline(run) {
  var rows = [], W = 260, H = 9, total = Math.max(run.durationMs, 1);
  run.spans.forEach(function (s) { if (rows.indexOf(s.step) < 0) rows.push(s.step); });
  rows.sort(function (a, b) { return STEPS.indexOf(a) - STEPS.indexOf(b); });
  var g = svg("svg", { width: W, height: Math.max(rows.length, 1) * (H + 2), role: "img", "aria-label": "timeline of run " + run.runId });
  run.spans.forEach(function (s) {
    var x = Math.floor(s.startMs / total * (W - 2)), w = Math.max(2, Math.round((s.endMs - s.startMs) / total * (W - 2)));
    var r = svg("rect", { x: x, y: rows.indexOf(s.step) * (H + 2), width: w, height: H, fill: COLORS[s.step] || "#7a8394", "data-step": s.step });
    var t = svg("title", {}); t.textContent = s.step + ": " + dur(s.endMs - s.startMs) + " (from +" + dur(s.startMs) + ")";
    r.appendChild(t); g.appendChild(r);
  });
  return g;
}
function api(path) {
  return fetch(path, { headers: { authorization: "Bearer " + token } }).then(function (res) {
    if (res.status === 401) { sessionStorage.removeItem(KEY); token = null; throw new Error("the token was refused (401): it expired or is not from this API's issuer"); }
    return res.json().then(function (body) {
      if (!res.ok) throw new Error(path + " answered " + res.status + ": " + (body.message || JSON.stringify(body)));
      return body;
    });
  });
}
function renderRuns(data) {
  var body = $("runs-body"); body.textContent = "";
  if (data.runs.length === 0) body.appendChild(el("tr", {}, [el("td", { colspan: "8" }, ["no runs in the last 7 days"])]));
  data.runs.forEach(function (r) {
    body.appendChild(el("tr", { "data-run-id": r.runId, "data-state": r.state }, [
      el("td", {}, [badge(r.state)]), el("td", {}, [el("code", {}, [r.runId])]), el("td", {}, [r.plan || "-"]),
      el("td", {}, [el("code", {}, [r.projectId.slice(0, 8)]), " " + r.region + " " + r.vaultName]),
      el("td", {}, [r.step]), el("td", {}, [utc(r.createdAt)]), el("td", {}, [dur(r.durationMs)]),
      el("td", { "class": "tl" }, [timeline(r)]),
    ]));
    if (r.reason) body.appendChild(el("tr", { "data-reason-of": r.runId }, [el("td", {}, []), el("td", { colspan: "7", "class": "wrap" }, [r.reason])]));
  });
  var plans = $("plans-body"); plans.textContent = "";
  if (data.plans.length === 0) plans.appendChild(el("tr", {}, [el("td", { colspan: "5" }, ["no plan is deployed to this stage (plans/plans.yml stages)"])]));
  data.plans.forEach(function (p) {
    plans.appendChild(el("tr", { "data-plan": p.name }, [
      el("td", {}, [p.name + (p.enabled ? "" : " (paused)")]), el("td", {}, [el("code", {}, [p.projectId.slice(0, 8)]), " " + p.region]),
      el("td", {}, [(p.cron || "?") + " " + (p.timezone || "")]), el("td", {}, [p.rpoHours + " h"]),
      el("td", { "class": "wrap" }, p.next.map(function (n) { return el("div", {}, [n.local + " " + p.timezone + " = " + n.utc + " UTC"]); })),
    ]));
  });
}
function renderCoverage(cov) {
  var box = $("coverage"); box.textContent = "";
  cov.projects.forEach(function (p) {
    var sec = el("section", { "data-project": p.projectId });
    sec.appendChild(el("h3", {}, ["project " + p.projectId + " (" + p.region + ")"]));
    if (p.error) { sec.appendChild(el("p", { "class": "wrap" }, ["not read: " + p.error.name + ": " + p.error.message])); box.appendChild(sec); return; }
    var c = p.counts;
    sec.appendChild(el("p", { "class": "counts" }, [c.total + " resources: ", badge("protected"), " " + c.protected + "  ", badge("unprotected"), " " + (c.unprotected + c.missing) + "  ", badge("stale"), " " + (c.stale + c["share-missing"]) + "  ", badge("deleted"), " " + c.deleted]));
    var rows = p.resources.slice().sort(function (a, b) { return order(a.status) - order(b.status); });
    var t = el("table", {}, [el("tr", {}, ["status", "type", "id", "name", "vault", "last backup (UTC)", "reason"].map(function (h) { return el("th", {}, [h]); }))]);
    rows.forEach(function (x) {
      t.appendChild(el("tr", { "data-resource-id": x.id, "data-status": x.status }, [
        el("td", {}, [badge(x.status)]), el("td", {}, [x.type]), el("td", {}, [el("code", {}, [x.id])]), el("td", {}, [x.name]),
        el("td", {}, [x.vault ? (x.vault.name || x.vault.id || "") : "-"]), el("td", {}, [utc(x.lastBackupAt)]), el("td", { "class": "wrap" }, [x.reason]),
      ]));
    });
    sec.appendChild(t); box.appendChild(sec);
  });
}
function order(s) { return ["missing", "unprotected", "stale", "share-missing", "protected", "deleted"].indexOf(s); }
function refresh() {
  clearTimeout(runsTimer);
  if (!token) return showLogin("");
  if (document.hidden) { runsTimer = setTimeout(refresh, 2000); return; }
  // Coverage (CBR's listings, the slower read) is fetched alongside the runs when due, else after a run ended.
  var cov = Date.now() - lastCoverage > 60000 ? api("/coverage") : null;
  if (cov) cov.catch(function () { /* reported below */ });
  api("/dashboard/data").then(function (data) {
    renderRuns(data);
    document.body.setAttribute("data-runs", "true");
    var active = data.runs.some(function (r) { return r.state === "PENDING" || r.state === "RUNNING"; });
    var ended = data.runs.some(function (r) { return r.finishedAt && !finished[r.runId]; });
    data.runs.forEach(function (r) { if (r.finishedAt) finished[r.runId] = true; });
    $("meta").textContent = "updated " + utc(data.generatedAt) + " UTC; " + data.runs.length + " runs; " + (active ? "runs in progress: refreshing every 2 s" : "refreshing every 15 s");
    $("error").textContent = "";
    if (!cov && ended) cov = api("/coverage");
    return Promise.resolve(cov && cov.then(function (c) { lastCoverage = Date.now(); renderCoverage(c); })).then(function () { document.body.setAttribute("data-loaded", "true"); runsTimer = setTimeout(refresh, active ? 2000 : 15000); });
  }).catch(function (err) {
    $("error").textContent = String(err.message || err);
    if (!token) showLogin(err.message); else runsTimer = setTimeout(refresh, 5000);
  });
}
function showLogin(why) {
  $("login").hidden = false; $("main").hidden = true; $("login-why").textContent = why || "";
}
function useToken(t) {
  token = t.replace(/^Bearer\\s+/i, "").trim(); sessionStorage.setItem(KEY, token);
  $("login").hidden = true; $("main").hidden = false; lastCoverage = 0; refresh();
}
$("login").addEventListener("submit", function (e) { e.preventDefault(); useToken($("login-token").value); });
document.addEventListener("visibilitychange", function () { if (!document.hidden && token) refresh(); });
var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (m) { history.replaceState(null, "", location.pathname + location.search); useToken(decodeURIComponent(m[1])); }
else if (sessionStorage.getItem(KEY)) useToken(sessionStorage.getItem(KEY));
else showLogin("");
`;

const legend = Object.keys(STEP_COLORS).map((step) => `<span><i class="k-${step}"></i>${step}</span>`).join('');

/** The page's HTML (identical for everyone; no data). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>cbr-flow dashboard</title><style>${STYLE}</style></head>
<body><h1>cbr-flow dashboard</h1><div id="meta">loading...</div><div id="error" role="alert"></div>
<form id="login" hidden><p><b>Sign in with a bearer token</b> (a JWT of the API's issuer; its <code>cbr_projects</code> claim decides which projects you see).
Locally <code>npm start -- --serve</code> prints this page's URL with a token; against a deployed API paste a token of your OIDC provider.</p>
<p id="login-why"></p><textarea id="login-token" aria-label="bearer token"></textarea><p><button type="submit">Show the dashboard</button></p></form>
<div id="main" hidden>
<h2>Runs (failed and expired first; last 7 days)</h2>
<div class="legend">${legend}</div>
<table id="runs"><thead><tr><th>state</th><th>run</th><th>plan</th><th>project, region, vault</th><th>step</th><th>created (UTC)</th><th>duration</th><th>timeline</th></tr></thead><tbody id="runs-body"></tbody></table>
<h2>Coverage</h2><div id="coverage">loading...</div>
<h2>Plans and their next firings</h2>
<table id="plans"><thead><tr><th>plan</th><th>project</th><th>cron, time zone</th><th>RPO</th><th>next firings (plan time zone = UTC)</th></tr></thead><tbody id="plans-body"></tbody></table>
</div><script>${SCRIPT}</script></body></html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's response headers: only its own inline script and style run; it may only fetch its own origin. */
export const DASHBOARD_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
};
