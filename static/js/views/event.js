// The event page: details, readiness, the participants table (sortable,
// filterable, with consent, cancel and check-in per row), registering a person
// (existing or new) and the participants list as CSV.

import * as api from "../api.js";
import { h, mount, announce, field, formValues, download } from "../dom.js";
import {
  t, label, formatDateTime, formatDate, formatRange, currentLanguage, zoneName,
} from "../i18n.js";
import { showErrors, clearErrors, explain } from "../problems.js";
import { negotiationCard } from "./negotiation.js";
import { ROLES } from "../enums.js";

const STATUSES = ["confirmed", "pending_consent", "awaiting_chaperone", "waitlisted",
  "attended", "no_show", "cancelled"];
const STATUS_BADGE = {
  confirmed: "ok", attended: "ok", pending_consent: "warn", awaiting_chaperone: "warn",
  waitlisted: "neutral", cancelled: "neutral", no_show: "danger",
};
const CHECKED_IN = ["attended", "no_show"];
const SORTS = ["name", "city", "role", "status", "position"];
// What the last move on this page did, said once the page is shown again.
let flash = null;

// ---------------------------------------------------------------------------
// Shared with the printable list
// ---------------------------------------------------------------------------

/** When an event happens, in `timeZone` (all-day events as days, which have no zone). */
export function eventWhen(event, timeZone = event.timezone) {
  if (event.all_day && event.start_date) {
    const end = event.end_date || event.start_date;
    if (end === event.start_date) return formatDate(event.start_date, { dateStyle: "full" });
    return formatRange(`${event.start_date}T12:00:00Z`, `${end}T12:00:00Z`, "UTC",
      { dateStyle: "long" });
  }
  return formatRange(event.starts_at, event.ends_at, timeZone,
    { dateStyle: "long", timeStyle: "short" });
}

/** City names by id (host and guests), each asked for once. */
export async function loadCities(get, ids) {
  const unique = [...new Set(ids.filter(Boolean))];
  const cities = await Promise.all(unique.map((id) => get(`/api/v1/cities/${id}`).catch((error) => {
    if (error.name === "AbortError") throw error;
    return { id, name: t("event.city_unknown", { id }), timezone: null };
  })));
  return new Map(cities.map((c) => [c.id, c]));
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/** The host's side (readiness, check-in, every registration): its coordinator or an admin. */
// Exchanges whose guests stay with host families (app.hosting).
const HOSTED_KINDS = ["youth_exchange", "school_exchange"];

export function runsEvent(ctx, event) {
  const role = ctx.who?.role;
  return role === "admin" || (role === "coordinator" && ctx.homeCity === event.host_city_id);
}

function isAdmin(ctx) { return ctx.who?.role === "admin"; }

/** The event's cities whose people the caller registers: its own (or every one, for an admin). */
function registrableCities(ctx, event) {
  const ids = [event.host_city_id, ...event.guest_city_ids];
  if (isAdmin(ctx)) return ids;
  return ids.includes(ctx.homeCity) ? [ctx.homeCity] : [];
}

async function loadPeople(state, signal) {
  const { event } = state;
  const [regs, readiness] = await Promise.all([
    api.all(`/api/v1/events/${event.id}/registrations`, { signal }),
    state.runs
      ? api.get(`/api/v1/events/${event.id}/readiness`, { signal }).catch((error) => {
        // Someone who cannot see readiness simply does not get that section.
        if (error instanceof api.ApiError && error.status === 403) return null;
        throw error;
      })
      : null,
  ]);
  // The people the caller may read, in one walk; anyone missing is asked for alone.
  const people = new Map();
  const listed = await api.all("/api/v1/participants", { signal });
  for (const p of listed.items) people.set(p.id, p);
  const missing = [...new Set(regs.items.map((r) => r.participant_id))].filter((id) => !people.has(id));
  await Promise.all(missing.map((id) => api.get(`/api/v1/participants/${id}`, { signal })
    .then((p) => people.set(p.id, p))
    .catch((error) => { if (error.name === "AbortError") throw error; })));
  state.regs = regs.items;
  state.people = people;
  state.readiness = readiness;
  const homes = [...people.values()].map((p) => p.home_city_id).filter((id) => !state.cities.has(id));
  if (homes.length) {
    const more = await loadCities((path) => api.get(path, { signal }), homes);
    for (const [id, city] of more) state.cities.set(id, city);
  }
}

// ---------------------------------------------------------------------------
// Rows: what the table, the CSV and the printable list show
// ---------------------------------------------------------------------------

function personOf(state, reg) {
  return state.people.get(reg.participant_id) || null;
}

function nameOf(state, reg) {
  return personOf(state, reg)?.full_name || t("event.person_unknown", { id: reg.participant_id });
}

function cityOf(state, reg) {
  const person = personOf(state, reg);
  return person ? state.cities.get(person.home_city_id)?.name || "" : "";
}

function rowsOf(state) {
  return state.regs.map((reg) => ({
    reg, person: personOf(state, reg), name: nameOf(state, reg), city: cityOf(state, reg),
  }));
}

function compareBy(key) {
  const collator = new Intl.Collator(currentLanguage(), { sensitivity: "base", numeric: true });
  const text = {
    name: (r) => r.name,
    city: (r) => r.city,
    role: (r) => label("reg_role", r.reg.role),
    status: (r) => String(STATUSES.indexOf(r.reg.status)).padStart(2, "0"),
  };
  if (key === "position") {
    const pos = (r) => r.reg.waitlist_position ?? Number.MAX_SAFE_INTEGER;
    return (a, b) => pos(a) - pos(b) || a.reg.id - b.reg.id;
  }
  const of = text[key] || text.name;
  return (a, b) => collator.compare(of(a), of(b)) || a.reg.id - b.reg.id;
}

function visibleRows(state) {
  const { status, role, q, sort, dir } = state.filters;
  const needle = q.toLocaleLowerCase(currentLanguage());
  const rows = rowsOf(state).filter((r) => (!status || r.reg.status === status)
    && (!role || r.reg.role === role)
    && (!needle || r.name.toLocaleLowerCase(currentLanguage()).includes(needle)));
  if (sort) {
    rows.sort(compareBy(sort));
    if (dir === "desc") rows.reverse();
  }
  return rows;
}

function readFilters(query) {
  const sort = query.get("sort");
  return {
    status: STATUSES.includes(query.get("status")) ? query.get("status") : "",
    role: ROLES.includes(query.get("role")) ? query.get("role") : "",
    q: (query.get("q") || "").slice(0, 100),
    sort: SORTS.includes(sort) ? sort : "",
    dir: query.get("dir") === "desc" ? "desc" : "asc",
  };
}

/** Filters and sort in the address, so that a reload or a shared link shows the same. */
function writeFilters(state) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(state.filters)) {
    if (value && !(name === "dir" && (value === "asc" || !state.filters.sort))) query.set(name, value);
  }
  const text = query.toString();
  history.replaceState(null, "", `${location.pathname}${text ? `?${text}` : ""}`);
}

// ---------------------------------------------------------------------------
// Details and readiness
// ---------------------------------------------------------------------------

function statusBadge(event) {
  const tone = { planned: "ok", confirmed: "ok", draft: "neutral", completed: "neutral",
    cancelled: "danger", proposed: "warn" }[event.status] || "neutral";
  return h("span", { class: `badge ${tone}${event.status === "cancelled" ? " cancelled" : ""}` },
    label("event_status", event.status));
}

function readinessBadge(state) {
  const { event, readiness } = state;
  // Only an event going ahead can be ready: never "ready" on a draft or a cancelled one.
  if (!readiness || !["planned", "confirmed"].includes(event.status)) return null;
  if (readiness.ready) return h("span", { class: "badge ok" }, t("event.ready"));
  return h("span", { class: "badge warn" },
    t("event.to_fix", { count: readiness.problems.length }));
}

function cityLink(city) {
  if (!city) return null;
  return h("a", { href: `/console/cities/${city.id}/partners` }, city.name);
}

function placesText(state) {
  const { event, readiness } = state;
  const held = readiness ? readiness.held
    : state.regs.filter((r) => !["waitlisted", "cancelled"].includes(r.status)).length;
  const waiting = readiness ? readiness.waitlisted
    : state.regs.filter((r) => r.status === "waitlisted").length;
  const parts = [];
  if (event.capacity === null || event.capacity === undefined) {
    parts.push(t("event.places_unlimited", { count: held }));
  } else {
    parts.push(t("event.places_used", { held, count: event.capacity }));
  }
  if (waiting) parts.push(t("event.waitlist_count", { count: waiting }));
  if (!readiness) parts.push(t("event.places_yours"));
  return parts.join(" · ");
}

function detailsCard(state) {
  const { event, cities, homeZone } = state;
  const host = cities.get(event.host_city_id);
  const guests = event.guest_city_ids.map((id) => cities.get(id)).filter(Boolean);
  const facts = [
    [t("event.when"), h("span", {}, eventWhen(event),
      event.all_day ? null : h("span", { class: "muted" }, ` (${zoneName(event.timezone, new Date(event.starts_at))})`))],
  ];
  if (!event.all_day && homeZone && homeZone !== event.timezone
      && zoneName(homeZone, new Date(event.starts_at)) !== zoneName(event.timezone, new Date(event.starts_at))) {
    facts.push([t("event.when_home", { city: state.homeName }),
      h("span", {}, eventWhen(event, homeZone),
        h("span", { class: "muted" }, ` (${zoneName(homeZone, new Date(event.starts_at))})`))]);
  }
  if (event.venue) facts.push([t("event.venue"), event.venue]);
  facts.push([t("event.visibility"), label("visibility", event.visibility)]);
  facts.push([t("event.host"), cityLink(host)]);
  facts.push([t("event.guests"), guests.length
    ? guests.flatMap((c, i) => (i ? [", ", cityLink(c)] : [cityLink(c)])) : t("event.no_guests")]);
  facts.push([t("event.places"), placesText(state)]);
  if (event.registration_deadline) {
    facts.push([t("event.deadline"), formatDateTime(event.registration_deadline, event.timezone)]);
  }
  if (event.status === "cancelled" && event.cancel_reason) {
    facts.push([t("event.cancel_reason"), event.cancel_reason]);
  }
  return h("section", { class: "card", "aria-labelledby": "event-details" },
    h("h2", { id: "event-details" }, t("event.details")),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    event.description ? h("p", { class: "event-description" }, event.description) : null);
}

function problemText(state, problem) {
  const { readiness, event } = state;
  const name = problem.name || (problem.participant_id
    && state.people.get(problem.participant_id)?.full_name) || "";
  switch (problem.kind) {
    case "consent_missing": return t("event.problem.consent_missing", { name });
    case "unreachable": return t("event.problem.unreachable", { name });
    case "birth_date_missing": return t("event.problem.birth_date_missing", { name });
    case "chaperone_missing":
      return t("event.problem.chaperone_missing", { count: readiness.chaperones_missing || 1 });
    case "overbooked": return t("event.problem.overbooked", { count: readiness.overbooked || 1 });
    case "event_not_going_ahead":
      return t("event.problem.not_going_ahead", { status: label("event_status", event.status) });
    default: return problem.detail;
  }
}

/** Scrolls to a participant's row (clearing filters that hide it) and focuses it. */
function goToRow(state, registrationId) {
  let row = document.getElementById(`reg-${registrationId}`);
  if (!row) {
    state.filters = { ...state.filters, status: "", role: "", q: "" };
    writeFilters(state);
    state.paintFilters();
    state.paintTable();
    row = document.getElementById(`reg-${registrationId}`);
  }
  if (!row) return;
  row.classList.add("highlight");
  setTimeout(() => row.classList.remove("highlight"), 2500);
  row.focus();
  row.scrollIntoView({ block: "center" });
}

function readinessCard(state) {
  const { readiness } = state;
  if (!readiness) return null;
  const counts = h("p", { class: "muted" }, t("event.readiness_counts", {
    confirmed: readiness.confirmed, pending: readiness.pending_consent,
    minors: readiness.minors, chaperones: readiness.adult_chaperones,
  }));
  const list = readiness.problems.length
    ? h("ul", { class: "plain readiness-problems" }, readiness.problems.map((problem) => {
      const text = problemText(state, problem);
      const item = problem.registration_id
        ? h("a", { href: `#reg-${problem.registration_id}`, onclick: (e) => {
          e.preventDefault();
          goToRow(state, problem.registration_id);
        } }, text)
        : text;
      return h("li", {}, item);
    }))
    : h("p", {}, ["planned", "confirmed"].includes(state.event.status)
      ? t("event.nothing_to_fix") : t("event.not_going_ahead"));
  return h("section", { class: "card", "aria-labelledby": "event-readiness" },
    h("div", { class: "spread" }, h("h2", { id: "event-readiness" }, t("event.readiness")),
      readinessBadge(state)),
    counts, list);
}

// ---------------------------------------------------------------------------
// The participants table
// ---------------------------------------------------------------------------

function consentText(reg) {
  if (!reg.is_minor) return h("span", { class: "muted" }, t("event.consent_not_needed"));
  if (reg.consent_at) {
    return t("event.consent_given", { name: reg.consent_by || "", date: formatDate(reg.consent_at) });
  }
  return h("span", { class: "badge warn" }, t("event.consent_missing"));
}

function canConsent(state, row) {
  return row.reg.status === "pending_consent" && row.person
    && (state.admin || row.person.home_city_id === state.homeCity);
}

function started(event) { return Date.now() >= new Date(event.starts_at_utc).getTime(); }

function rowActions(state, row) {
  const { reg, name } = row;
  const who = h("span", { class: "visually-hidden" }, ` (${name})`);
  const buttons = [];
  if (canConsent(state, row)) {
    buttons.push(h("button", { type: "button", onclick: () => state.openConsent(row) },
      t("event.record_consent"), who.cloneNode(true)));
  }
  const live = state.event.status !== "cancelled";
  if (live && state.runs && started(state.event)
      && ["confirmed", ...CHECKED_IN].includes(reg.status)) {
    if (reg.status !== "attended") {
      buttons.push(h("button", { type: "button", onclick: () => state.checkIn(row, "attended") },
        t("event.check_in"), who.cloneNode(true)));
    }
    if (reg.status !== "no_show") {
      buttons.push(h("button", { type: "button", onclick: () => state.checkIn(row, "no_show") },
        t("event.no_show"), who.cloneNode(true)));
    }
  }
  if (reg.status !== "cancelled" && !CHECKED_IN.includes(reg.status)) {
    buttons.push(h("button", { type: "button", class: "danger",
      onclick: () => state.openCancel(row) }, t("event.cancel_place"), who.cloneNode(true)));
  }
  const error = state.rowErrors.get(reg.id);
  return h("td", { class: "row-actions" },
    buttons.length ? h("div", { class: "row" }, buttons) : null,
    error ? h("p", { class: "row-problem", role: "alert" }, error) : null);
}

function sortHeader(state, key, text, extra = {}) {
  const { sort, dir } = state.filters;
  const current = sort === key;
  return h("th", { scope: "col", "aria-sort": current ? (dir === "desc" ? "descending" : "ascending") : null, ...extra },
    h("button", { type: "button", class: "sort", dataset: { sort: key }, onclick: () => {
      state.filters.dir = current && dir === "asc" ? "desc" : "asc";
      state.filters.sort = key;
      writeFilters(state);
      state.paintTable();
      document.querySelector(`button.sort[data-sort="${key}"]`)?.focus();
    } }, text, h("span", { class: "sort-mark", "aria-hidden": "true" },
      current ? (dir === "desc" ? " ▼" : " ▲") : " ↕")));
}

function participantRow(state, row) {
  const { reg, person } = row;
  return h("tr", { id: `reg-${reg.id}`, tabindex: "-1",
    class: reg.status === "cancelled" ? "is-cancelled" : null },
  h("th", { scope: "row" }, row.name),
  h("td", {}, row.city),
  h("td", {}, label("reg_role", reg.role)),
  h("td", {}, h("span", { class: `badge ${STATUS_BADGE[reg.status] || "neutral"}` },
    label("reg_status", reg.status))),
  h("td", { class: "num" }, reg.status === "waitlisted" && reg.waitlist_position
    ? t("event.position", { position: reg.waitlist_position }) : ""),
  h("td", {}, reg.is_minor ? t("event.minor_yes") : h("span", { class: "muted" }, t("event.minor_no")),
    reg.is_minor && person?.guardian_name
      ? h("div", { class: "muted small" }, t("event.guardian_of", { name: person.guardian_name }))
      : null),
  h("td", {}, consentText(reg)),
  rowActions(state, row));
}

function participantsTable(state) {
  const rows = visibleRows(state);
  const caption = h("caption", { class: "visually-hidden" },
    t("event.table_caption", { shown: rows.length, count: state.regs.length }));
  if (!rows.length) {
    return h("p", { class: "muted" }, state.regs.length ? t("event.none_match") : t("event.none_yet"));
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "participants" }, caption,
    h("thead", {}, h("tr", {},
      sortHeader(state, "name", t("event.col.name")),
      sortHeader(state, "city", t("event.col.city")),
      sortHeader(state, "role", t("event.col.role")),
      sortHeader(state, "status", t("event.col.status")),
      sortHeader(state, "position", t("event.col.position"), { class: "num" }),
      h("th", { scope: "col" }, t("event.col.minor")),
      h("th", { scope: "col" }, t("event.col.consent")),
      h("th", { scope: "col" }, t("event.col.actions")))),
    h("tbody", {}, rows.map((row) => participantRow(state, row)))));
}

function filterForm(state) {
  const { filters } = state;
  const status = field({ label: t("event.filter_status"), name: "status", type: "select",
    value: filters.status,
    options: [["", t("event.filter_any")], ...STATUSES.map((s) => [s, label("reg_status", s)])] });
  const role = field({ label: t("event.filter_role"), name: "role", type: "select", value: filters.role,
    options: [["", t("event.filter_any")], ...ROLES.map((r) => [r, label("reg_role", r)])] });
  const search = field({ label: t("event.filter_name"), name: "q", type: "search", value: filters.q,
    maxlength: 100, autocomplete: "off" });
  const form = h("form", { class: "field-row filters", role: "search",
    "aria-label": t("event.filters"), onsubmit: (e) => e.preventDefault() }, status, role, search);
  const update = () => {
    const values = formValues(form);
    state.filters = { ...state.filters, status: values.status, role: values.role, q: values.q };
    writeFilters(state);
    state.paintTable();
  };
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  return form;
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/** One CSV cell (RFC 4180), with formulas defused so a spreadsheet shows them as text. */
export function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n;]/.test(text) || text !== text.trim() ? `"${text.replaceAll("\"", "\"\"")}"` : text;
}

export function csvText(rows) {
  // A BOM first, so Excel reads the file as UTF-8 (Cyrillic names stay readable).
  return `\uFEFF${rows.map((r) => r.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

function exportCsv(state) {
  const header = ["name", "city", "role", "status", "position", "birth_date", "minor", "guardian",
    "guardian_email", "email", "phone", "consent_by", "consent_at"].map((k) => t(`event.csv.${k}`));
  const lines = visibleRows(state).map(({ reg, person, name, city }) => [
    name, city, label("reg_role", reg.role), label("reg_status", reg.status),
    reg.status === "waitlisted" ? reg.waitlist_position ?? "" : "",
    person?.birth_date || "", reg.is_minor ? t("event.minor_yes") : t("event.minor_no"),
    person?.guardian_name || "", person?.guardian_email || "", person?.email || "",
    person?.phone || "", reg.consent_by || "", reg.consent_at ? reg.consent_at.slice(0, 10) : "",
  ]);
  download(`event-${state.event.id}-participants.csv`, csvText([header, ...lines]));
  announce(t("event.csv_done", { count: lines.length }));
}

// ---------------------------------------------------------------------------
// Server refusals in words: a 422 "value_error" carries only the server's English
// sentence, so the ones a coordinator meets here get the console's own words.
// ---------------------------------------------------------------------------

const KNOWN = [
  [/chaperone must be an adult/, "event.error.chaperone_adult"],
  [/needs the participant's birth date/, "event.error.birth_date_needed"],
  [/guardian on record is/, "event.error.guardian_differs"],
];

function localise(error, moves = {}) {
  if (!(error instanceof api.ApiError) || error.status !== 422) return error;
  for (const [name, errors] of Object.entries(error.fields)) {
    for (const one of errors) {
      const known = KNOWN.find(([pattern]) => pattern.test(one.msg || ""));
      if (known) {
        one.type = "console_local";
        one.msg = t(known[1]);
      }
    }
    // Some refusals belong to another field of the form than the API names.
    const target = moves[name]?.(errors);
    if (target && target !== name) {
      (error.fields[target] ||= []).push(...errors);
      delete error.fields[name];
    }
  }
  return error;
}

// ---------------------------------------------------------------------------
// Register a person
// ---------------------------------------------------------------------------

function resultMessage(name, reg) {
  switch (reg.status) {
    case "waitlisted":
      return t("event.result.waitlisted", { name, position: reg.waitlist_position ?? "?" });
    case "pending_consent": return t("event.result.pending_consent", { name });
    case "awaiting_chaperone": return t("event.result.awaiting_chaperone", { name });
    default: return t("event.result.confirmed", { name });
  }
}

function roleField(name = "role") {
  return field({ label: t("event.role"), name, type: "select", value: "delegate", required: true,
    options: ROLES.map((r) => [r, label("reg_role", r)]) });
}

function existingForm(state) {
  // People of the caller's cities not already holding a registration here.
  const candidates = () => {
    const taken = new Set(state.regs.filter((r) => r.status !== "cancelled").map((r) => r.participant_id));
    return [...state.people.values()]
      .filter((p) => state.registrable.includes(p.home_city_id) && !p.erased_at && !taken.has(p.id))
      .sort((a, b) => a.full_name.localeCompare(b.full_name, currentLanguage()));
  };
  const search = field({ label: t("event.find_person"), name: "find", type: "search",
    autocomplete: "off", maxlength: 100, hint: t("event.find_hint") });
  const pick = field({ label: t("event.person"), name: "participant_id", type: "select",
    required: true, options: [] });
  const select = pick.querySelector("select");
  const fill = () => {
    const needle = search.querySelector("input").value.trim().toLocaleLowerCase(currentLanguage());
    const found = candidates().filter((p) => !needle
      || p.full_name.toLocaleLowerCase(currentLanguage()).includes(needle)).slice(0, 100);
    mount(select, h("option", { value: "" }, found.length
      ? t("event.choose_person", { count: found.length }) : t("event.nobody_found")),
    found.map((p) => h("option", { value: p.id },
      p.birth_date ? `${p.full_name} (${formatDate(p.birth_date)})` : p.full_name)));
    if (found.length === 1) select.value = String(found[0].id);
  };
  search.querySelector("input").addEventListener("input", fill);
  fill();
  const submit = h("button", { type: "submit", class: "primary" }, t("event.register"));
  const form = h("form", { novalidate: true, class: "register-existing",
    "aria-labelledby": "register-existing" },
  h("h3", { id: "register-existing" }, t("event.register_existing")),
  search, h("div", { class: "field-row" }, pick, roleField()),
  h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    if (!values.participant_id) {
      const slot = pick.querySelector(".field-error");
      slot.textContent = t("event.error.choose_person");
      slot.hidden = false;
      select.setAttribute("aria-invalid", "true");
      select.focus();
      return;
    }
    submit.disabled = true;
    try {
      const reg = await state.register(Number(values.participant_id), values.role);
      state.notify(resultMessage(state.people.get(reg.participant_id)?.full_name || "", reg), reg.id,
        state.registerNotice);
      form.reset();
      fill();
    } catch (error) {
      if (error.name === "AbortError") return;
      showErrors(form, localise(error));
    } finally {
      submit.disabled = false;
    }
  });
  state.refillExisting = fill;
  return form;
}

function newPersonForm(state) {
  const cityOptions = state.registrable.map((id) => [id, state.cities.get(id)?.name || String(id)]);
  let created = null; // a person made by an earlier attempt whose registration failed
  const submit = h("button", { type: "submit", class: "primary" }, t("event.register_new"));
  const form = h("form", { novalidate: true, class: "register-new", "aria-labelledby": "register-new" },
    h("h3", { id: "register-new" }, t("event.register_new_title")),
    h("div", { class: "field-row" },
      field({ label: t("event.full_name"), name: "full_name", required: true, maxlength: 200,
        autocomplete: "off" }),
      field({ label: t("event.home_city"), name: "home_city_id", type: "select", required: true,
        value: state.registrable[0], options: cityOptions })),
    h("div", { class: "field-row" },
      field({ label: t("event.birth_date"), name: "birth_date", type: "date",
        hint: t("event.birth_date_hint") }),
      roleField()),
    h("div", { class: "field-row" },
      field({ label: t("event.email"), name: "email", type: "email", autocomplete: "off" }),
      field({ label: t("event.phone"), name: "phone", type: "tel", autocomplete: "off",
        hint: t("event.phone_hint") })),
    h("fieldset", {}, h("legend", {}, t("event.guardian_legend")),
      h("p", { class: "hint" }, t("event.guardian_hint")),
      h("div", { class: "field-row" },
        field({ label: t("event.guardian_name"), name: "guardian_name", maxlength: 200,
          autocomplete: "off" }),
        field({ label: t("event.guardian_email"), name: "guardian_email", type: "email",
          autocomplete: "off" }))),
    h("div", { class: "actions" }, submit));
  // Changing anything after a half-done attempt means a different person.
  form.addEventListener("input", (e) => { if (e.target.name !== "role") created = null; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const body = { full_name: values.full_name, home_city_id: Number(values.home_city_id) };
    for (const name of ["birth_date", "email", "phone", "guardian_name", "guardian_email"]) {
      if (values[name]) body[name] = values[name];
    }
    submit.disabled = true;
    try {
      if (!created) {
        created = await api.post("/api/v1/participants", body, { signal: state.signal });
        state.people.set(created.id, created);
      }
      const reg = await state.register(created.id, values.role);
      state.notify(resultMessage(created.full_name, reg), reg.id, state.registerNotice);
      created = null;
      form.reset();
      form.querySelector("[name=full_name]").focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      // The registration's refusals about the person belong beside the birth date.
      showErrors(form, localise(error, {
        participant_id: (errors) => (errors.some((er) => /birth/.test(er.msg || "")
          || er.type === "console_local") ? "birth_date" : "full_name"),
      }));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function registerCard(state) {
  if (["cancelled", "completed", "proposed"].includes(state.event.status)) return null;
  if (!state.registrable.length) return null;
  return h("section", { class: "card", "aria-labelledby": "event-register" },
    h("h2", { id: "event-register" }, t("event.register_title")),
    state.registerNotice,
    h("div", { class: "grid register-forms" }, existingForm(state), newPersonForm(state)));
}

// ---------------------------------------------------------------------------
// Dialogs: consent, cancel
// ---------------------------------------------------------------------------

function sameName(a, b) {
  const norm = (s) => (s || "").split(/\s+/).filter(Boolean).join(" ").toLocaleLowerCase();
  return norm(a) === norm(b);
}

function consentDialog(state, row, dialog) {
  const onRecord = row.person?.guardian_name || "";
  const nameField = field({ label: t("event.guardian_name"), name: "guardian_name", value: onRecord,
    required: true, maxlength: 200, autocomplete: "off",
    hint: onRecord ? t("event.guardian_on_record", { name: onRecord }) : t("event.guardian_none") });
  const changed = field({ label: t("event.guardian_changed"), name: "guardian_changed",
    type: "checkbox" });
  const input = nameField.querySelector("input");
  const toggle = () => { changed.hidden = !onRecord || sameName(input.value, onRecord); };
  input.addEventListener("input", toggle);
  toggle();
  const submit = h("button", { type: "submit", class: "primary" }, t("event.consent_save"));
  const form = h("form", { novalidate: true, method: "dialog" },
    h("h2", { id: "dialog-title" }, t("event.consent_title", { name: row.name })),
    nameField, changed,
    h("div", { class: "actions" }, submit,
      h("button", { type: "button", onclick: () => dialog.close() }, t("event.dialog_close"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const error = (text) => {
      const slot = nameField.querySelector(".field-error");
      slot.textContent = text;
      slot.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (!values.guardian_name) return error(t("problem.field.missing"));
    const differs = onRecord && !sameName(values.guardian_name, onRecord);
    if (differs && !values.guardian_changed) return error(t("event.error.guardian_differs"));
    submit.disabled = true;
    try {
      const reg = await api.post(`/api/v1/registrations/${row.reg.id}/consent`, {
        guardian_name: values.guardian_name, guardian_changed: Boolean(differs),
      }, { signal: state.signal });
      dialog.close();
      await state.reload();
      state.notify(reg.status === "awaiting_chaperone"
        ? t("event.consent_done_waiting", { name: row.name })
        : t("event.consent_done", { name: row.name }), reg.id);
    } catch (err) {
      if (err.name === "AbortError") return;
      showErrors(form, localise(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function cancelDialog(state, row, dialog) {
  const submit = h("button", { type: "submit", class: "danger" }, t("event.cancel_confirm"));
  const form = h("form", { novalidate: true, method: "dialog" },
    h("h2", { id: "dialog-title" }, t("event.cancel_title", { name: row.name })),
    h("p", {}, t("event.cancel_explain")),
    field({ label: t("event.cancel_reason_field"), name: "reason", type: "textarea", maxlength: 1000,
      rows: 2 }),
    h("div", { class: "actions" }, submit,
      h("button", { type: "button", onclick: () => dialog.close() }, t("event.cancel_keep"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const before = new Map(state.regs.map((r) => [r.id, r.status]));
    const { reason } = formValues(form);
    submit.disabled = true;
    try {
      await api.post(`/api/v1/registrations/${row.reg.id}/cancel`, reason ? { reason } : {},
        { signal: state.signal });
      dialog.close();
      await state.reload();
      // Who moved up: waitlisted before, holding a place now.
      const moved = state.regs.filter((r) => before.get(r.id) === "waitlisted"
        && r.status !== "waitlisted" && r.status !== "cancelled");
      const lines = [t("event.cancel_done", { name: row.name }),
        ...moved.map((r) => t(`event.moved_up.${r.status}`, { name: nameOf(state, r) }))];
      state.notify(lines.join(" "), moved[0]?.id ?? row.reg.id);
    } catch (err) {
      if (err.name === "AbortError") return;
      showErrors(form, localise(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// ---------------------------------------------------------------------------
// The view
// ---------------------------------------------------------------------------

export async function render(ctx) {
  const event = await ctx.get(`/api/v1/events/${encodeURIComponent(ctx.params.id)}`);
  const cities = await loadCities(ctx.get, [event.host_city_id, ...event.guest_city_ids, ctx.homeCity]);
  const home = ctx.homeCity ? cities.get(ctx.homeCity) : null;
  const state = {
    event, cities, signal: ctx.signal, runs: runsEvent(ctx, event), admin: isAdmin(ctx),
    homeCity: ctx.homeCity, homeZone: home?.timezone || null, homeName: home?.name || "",
    registrable: registrableCities(ctx, event), filters: readFilters(ctx.query),
    regs: [], people: new Map(), readiness: null, rowErrors: new Map(),
  };
  await loadPeople(state, ctx.signal);

  const detailsSlot = h("div", {});
  const readinessSlot = h("div", {});
  const tableSlot = h("div", {});
  const filtersSlot = h("div", {});
  const noticeSlot = h("div", { class: "event-notice" });
  const dialog = h("dialog", { "aria-labelledby": "dialog-title", class: "event-dialog" });
  dialog.addEventListener("close", () => mount(dialog));

  state.paintTable = () => mount(tableSlot, participantsTable(state));
  state.paintFilters = () => mount(filtersSlot, filterForm(state));
  state.paint = () => {
    mount(detailsSlot, detailsCard(state));
    mount(readinessSlot, readinessCard(state));
    state.paintTable();
    state.refillExisting?.();
  };
  state.reload = async () => {
    await loadPeople(state, ctx.signal);
    state.paint();
  };
  state.registerNotice = h("div", { class: "event-notice" });
  state.notify = (message, focusId, slot = noticeSlot) => {
    mount(noticeSlot);
    mount(state.registerNotice);
    mount(slot, h("p", { class: "notice" }, message));
    announce(message);
    const row = focusId && document.getElementById(`reg-${focusId}`);
    if (row) {
      row.classList.add("highlight");
      setTimeout(() => row.classList.remove("highlight"), 2500);
    }
  };
  state.register = async (participantId, role) => {
    const reg = await api.post(`/api/v1/events/${event.id}/registrations`,
      { participant_id: participantId, role }, { signal: ctx.signal });
    await state.reload();
    return state.regs.find((r) => r.id === reg.id) || reg;
  };
  const openDialog = (build, row) => {
    state.rowErrors.delete(row.reg.id);
    mount(dialog, build(state, row, dialog));
    dialog.showModal();
    dialog.querySelector("input, textarea, button")?.focus();
  };
  state.openConsent = (row) => openDialog(consentDialog, row);
  state.openCancel = (row) => openDialog(cancelDialog, row);
  state.checkIn = async (row, outcome) => {
    state.rowErrors.delete(row.reg.id);
    try {
      await api.post(`/api/v1/registrations/${row.reg.id}/check-in`, { outcome },
        { signal: ctx.signal });
      await state.reload();
      state.notify(t(`event.checked_in.${outcome}`, { name: row.name }), row.reg.id);
      document.getElementById(`reg-${row.reg.id}`)?.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      // Shown on the row it concerns.
      state.rowErrors.set(row.reg.id, explain(error));
      state.paintTable();
      document.getElementById(`reg-${row.reg.id}`)?.focus();
      announce(explain(error));
    }
  };

  state.paint();
  state.paintFilters();
  const negotiation = await negotiationCard({
    event, cities, city: ctx.who?.role === "coordinator" ? ctx.homeCity : null, get: ctx.get,
    signal: ctx.signal, refresh: (message) => { flash = message; return ctx.refresh(); },
  });
  const flashSlot = h("div", { class: "event-notice" });
  if (flash) {
    state.notify(flash, null, flashSlot);
    flash = null;
  }

  const cancelled = event.status === "cancelled";
  // The host edits (a guest city would be refused); a proposal is negotiated, not
  // edited: its dates move by counter-proposals.
  const editable = state.runs && !cancelled && event.status !== "proposed";
  const body = h("section", { class: "event-page" },
    h("div", { class: "spread" },
      h("h1", { class: cancelled ? "cancelled" : null }, event.title),
      h("div", { class: "row" }, h("span", { class: `kind kind-${event.kind}` }, label("kind", event.kind)),
        statusBadge(event))),
    h("div", { class: "actions" },
      editable ? h("a", { class: "button", href: `/console/events/${event.id}/edit` }, t("event.edit")) : null,
      h("a", { class: "button", href: `/console/events/${event.id}/list` }, t("event.print_list")),
      h("a", { class: "button", href: `/console/events/${event.id}/programme` }, t("event.programme")),
      h("a", { class: "button", href: `/console/events/${event.id}/travel` }, t("event.travel_board")),
      h("a", { class: "button", href: `/console/events/${event.id}/papers` }, t("event.papers")),
      HOSTED_KINDS.includes(event.kind)
        ? h("a", { class: "button", href: `/console/events/${event.id}/placement` }, t("event.placement")) : null,
      h("button", { type: "button", onclick: () => exportCsv(state) }, t("event.export_csv"))),
    flashSlot, negotiation, detailsSlot, readinessSlot,
    h("section", { class: "card", "aria-labelledby": "event-participants" },
      h("h2", { id: "event-participants" }, t("event.participants")),
      noticeSlot, filtersSlot, tableSlot),
    registerCard(state),
    dialog);
  return { title: event.title, body };
}

export { STATUS_BADGE };
