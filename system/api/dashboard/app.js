// The faaslab dashboard: polls GET /cluster every second and draws it. Plain browser
// JavaScript with no build step; Chart.js is loaded beside it from the API's node_modules.
// Everything shown comes from the snapshot; text from users (function names, errors) is set
// as text, never as HTML.
"use strict";

const POLL_MS = 1000;
const HISTORY_MS = 5 * 60 * 1000;
const TOKEN_KEY = "faaslab-api-token";

const history = []; // { at, rate, queueDepth, load }
let previous; // the last snapshot, for the throughput
let timer;
const charts = {};

function $(selector) {
  return document.querySelector(selector);
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else if (name === "width") node.style.width = value; // a style property, which the page's CSP allows (a style attribute it does not)
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function setConnection(text, down) {
  const status = $("#connection");
  status.textContent = text;
  status.classList.toggle("down", Boolean(down));
}

async function poll() {
  clearTimeout(timer);
  let headers;
  try {
    headers = token() ? new Headers({ authorization: `Bearer ${token()}` }) : new Headers();
  } catch {
    askForToken("A token is plain ASCII text: that one cannot be sent.");
    return;
  }
  let response;
  let body;
  try {
    response = await fetch("cluster", { headers, cache: "no-store" });
    body = await response.json();
  } catch {
    setConnection("the API is unreachable", true);
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  if (response.status === 401) {
    askForToken(token() ? "That token was refused." : "");
    return; // polling resumes when a token is given
  }
  if (!response.ok) {
    setConnection(body.code === "REDIS_UNAVAILABLE" ? "Redis is unreachable" : `error: ${body.error || response.status}`, true);
  } else {
    try {
      render(body);
      setConnection(`updated ${new Date(body.at).toLocaleTimeString()}`, false);
    } catch (error) {
      setConnection(`this page could not show the answer: ${error.message}`, true);
    }
  }
  timer = setTimeout(poll, POLL_MS);
}

function askForToken(message) {
  $("#token-form").hidden = false;
  $("#token-error").textContent = message;
  setConnection("waiting for a token", true);
  $("#token").focus();
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token-form").hidden = true;
  void poll();
});

function render(snapshot) {
  $("#mode").textContent = snapshot.mode === null ? "no dispatcher" : `${snapshot.mode} mode`;
  $("#dispatchers").textContent = `${snapshot.dispatchers.length} dispatcher${snapshot.dispatchers.length === 1 ? "" : "s"}`;
  for (const [status, count] of Object.entries(snapshot.tasks)) {
    const tile = document.querySelector(`[data-count="${status}"]`);
    if (tile) tile.textContent = count.toLocaleString("en-US");
  }
  $("#worker-count").textContent = snapshot.workers.length;
  $("#executors").textContent = `${snapshot.busy} / ${snapshot.capacity}`;

  const finished = snapshot.tasks.COMPLETED + snapshot.tasks.FAILED;
  let rate = null;
  if (previous && snapshot.at > previous.at) {
    const before = previous.tasks.COMPLETED + previous.tasks.FAILED;
    // Counts that went down belong to a Redis that restarted without its data.
    rate = finished >= before ? ((finished - before) * 1000) / (snapshot.at - previous.at) : 0;
  }
  previous = snapshot;
  $("#throughput").textContent = rate === null ? "–" : rate.toFixed(rate < 10 ? 1 : 0);
  history.push({ at: snapshot.at, rate, queueDepth: snapshot.queueDepth, load: snapshot.capacity > 0 ? (100 * snapshot.busy) / snapshot.capacity : 0 });
  while (history.length > 0 && history[0].at < snapshot.at - HISTORY_MS) history.shift();
  drawCharts();
  renderWorkers(snapshot);
  renderFailures(snapshot);
}

function renderWorkers(snapshot) {
  const rows = snapshot.workers.map((worker) => {
    const load = worker.capacity > 0 ? Math.round((100 * worker.busy) / worker.capacity) : 0;
    const dispatcher = snapshot.dispatchers.find((d) => d.id === worker.dispatcherId);
    const silentMs = dispatcher ? Math.max(0, dispatcher.publishedAt - worker.lastHeartbeatAt) : 0;
    return el("tr", { "data-worker-id": worker.id },
      el("td", { class: "mono" }, worker.id),
      el("td", { class: "mono" }, worker.dispatcherId),
      el("td", { class: "num" }, worker.capacity),
      el("td", { class: "num", "data-busy": "" }, worker.busy),
      el("td", {}, el("span", { class: "bar", title: `${load}%` }, el("span", { width: `${load}%` })), ` ${load}%`),
      el("td", { class: "num" }, `${(silentMs / 1000).toFixed(1)} s ago`));
  });
  $("#workers tbody").replaceChildren(...rows);
  $("#no-workers").hidden = rows.length > 0;
}

function renderFailures(snapshot) {
  const rows = snapshot.recentFailures.map((failure) => el("tr", { "data-task-id": failure.taskId },
    el("td", {}, new Date(failure.at).toLocaleTimeString()),
    el("td", { class: "mono" }, failure.taskId),
    el("td", {}, failure.functionName ?? failure.functionId),
    el("td", {}, failure.error
      ? el("span", {}, el("span", { class: "error-name" }, failure.error.name), `: ${failure.error.message}`)
      : "(its record has expired)"),
    el("td", { class: "mono" }, failure.worker ?? "")));
  $("#failures tbody").replaceChildren(...rows);
  $("#no-failures").hidden = rows.length > 0;
}

function lineChart(canvas, label, color, max) {
  return new Chart(canvas, {
    type: "line",
    data: { labels: [], datasets: [{ label, data: [], borderColor: color, backgroundColor: `${color}22`, fill: true, pointRadius: 0, borderWidth: 2, tension: 0.2 }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } }, y: { beginAtZero: true, ...(max ? { max } : {}) } },
    },
  });
}

function drawCharts() {
  if (typeof Chart === "undefined") return; // the table and tiles still work
  if (!charts.throughput) {
    charts.throughput = lineChart($("#throughput-chart"), "tasks/s", "#2f6fde");
    charts.queue = lineChart($("#queue-chart"), "queued", "#b54708");
    charts.load = lineChart($("#load-chart"), "% busy", "#067647", 100);
  }
  const labels = history.map((point) => new Date(point.at).toLocaleTimeString());
  const series = { throughput: history.map((point) => point.rate), queue: history.map((point) => point.queueDepth), load: history.map((point) => point.load) };
  for (const [name, chart] of Object.entries(charts)) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = series[name];
    chart.update("none");
  }
}

void poll();
