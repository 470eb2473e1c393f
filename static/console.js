// The coordinator console: plain JavaScript over Twinplan's public API.
"use strict";

const $ = (id) => document.getElementById(id);
let apiKey = sessionStorage.getItem("twinplan-key") || "";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(path) {
  const headers = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
  const response = await fetch(path, { headers });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}

function showError(error) {
  $("error").hidden = false;
  $("error").textContent = error.message;
}

async function showKeyState() {
  if (!apiKey) {
    $("key-state").textContent = "no key: public data only";
    return;
  }
  try {
    const key = await api("/api/v1/api-keys/me");
    const scope = key.city_id ? ` of city ${key.city_id}` : "";
    $("key-state").textContent = `${key.role}${scope} (${key.name})`;
  } catch (error) {
    $("key-state").textContent = "key refused";
    showError(error);
    apiKey = "";
    sessionStorage.removeItem("twinplan-key");
  }
}

async function searchCities() {
  const q = $("city-q").value.trim();
  const params = new URLSearchParams({ limit: "50" });
  if (q) params.set("q", q);
  try {
    const page = await api(`/api/v1/cities?${params}`);
    const list = $("city-list");
    list.replaceChildren();
    for (const city of page.items) {
      const button = el("button", `${city.name} (${city.country_code})`);
      button.addEventListener("click", () => showCity(city));
      const item = el("li");
      item.append(button);
      list.append(item);
    }
    if (page.total > page.items.length) {
      list.append(el("li", `… ${page.total - page.items.length} more: refine the search`, "muted"));
    }
  } catch (error) {
    showError(error);
  }
}

async function showCity(city) {
  $("error").hidden = true;
  $("city").hidden = false;
  $("placeholder").hidden = true;
  $("city-title").textContent = city.name;
  const seeking = city.seeking_twin_in.length ? ` · seeking a twin in ${city.seeking_twin_in.join(", ")}` : "";
  $("city-facts").textContent = `${city.country_code} · ${city.timezone}${seeking}`;
  try {
    const [partners, events] = await Promise.all([
      api(`/api/v1/cities/${city.id}/partners?limit=200`),
      api(`/api/v1/events?city_id=${city.id}&limit=50`),
    ]);
    const rows = $("partner-rows");
    rows.replaceChildren();
    for (const p of partners.items) {
      const tr = el("tr");
      tr.append(el("td", p.city.name), el("td", p.city.country_code), el("td", p.status),
                el("td", p.established_on || p.status_changed_on || "—"));
      rows.append(tr);
    }
    if (!partners.items.length) rows.append(rowNote(4, "No twins yet."));
    await showEvents(city, events.items);
  } catch (error) {
    showError(error);
  }
}

function rowNote(span, text) {
  const tr = el("tr");
  const td = el("td", text, "muted");
  td.colSpan = span;
  tr.append(td);
  return tr;
}

async function showEvents(city, events) {
  const rows = $("event-rows");
  rows.replaceChildren();
  for (const event of events) {
    const tr = el("tr");
    const readiness = el("td", apiKey ? "…" : "key needed", "muted");
    tr.append(el("td", (event.starts_at || event.start_date || "").replace("T", " ")),
              el("td", event.title), el("td", event.kind), el("td", event.status), readiness);
    rows.append(tr);
    if (apiKey && event.host_city_id === city.id) fillReadiness(event.id, readiness);
    else if (apiKey) readiness.textContent = "host's view";
  }
  if (!events.length) rows.append(rowNote(5, "No events visible to you."));
}

async function fillReadiness(eventId, cell) {
  try {
    const r = await api(`/api/v1/events/${eventId}/readiness`);
    const problems = [];
    if (r.pending_consent) problems.push(`${r.pending_consent} awaiting consent`);
    if (r.chaperones_missing) problems.push(`${r.chaperones_missing} chaperone(s) missing`);
    if (r.without_contact.length) problems.push(`${r.without_contact.length} without contact`);
    cell.textContent = `${r.confirmed} confirmed, ${r.waitlisted} waitlisted` +
      (problems.length ? ` · ${problems.join(", ")}` : " · ready");
    cell.className = problems.length ? "warn" : "ok";
  } catch (error) {
    cell.textContent = error.message;
  }
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  apiKey = $("api-key").value.trim();
  $("api-key").value = "";
  if (apiKey) sessionStorage.setItem("twinplan-key", apiKey);
  else sessionStorage.removeItem("twinplan-key");
  $("error").hidden = true;
  showKeyState().then(searchCities);
});

let timer;
$("city-q").addEventListener("input", () => {
  clearTimeout(timer);
  $("error").hidden = true;
  timer = setTimeout(searchCities, 200);
});

showKeyState().then(searchCities);
