// Create and edit an event: /console/events/new[?host=<cityId>] and /console/events/{id}/edit.
//
// Times are entered as wall-clock times in the EVENT's zone and sent naive
// ("2027-04-20T09:00") with that zone, as the API takes them. A time that does
// not exist there (the spring-forward gap) or exists twice (the autumn fold) is
// refused here already, with words that say which times are missing; the API's
// own 422 is shown next to the field if it still comes. An edit keeps the ETag of
// the copy it started from and sends only what changed: a 412 shows what the
// other person changed instead of overwriting it.

import * as api from "../api.js";
import { h, field, formValues, announce } from "../dom.js";
import { t, label, formatDateTime, formatDate, formatNumber, currentLanguage } from "../i18n.js";
import { showErrors, clearErrors } from "../problems.js";

const KINDS = ["delegation_visit", "youth_exchange", "school_exchange", "sports", "exhibition",
  "culture", "seminar"];
const VISIBILITIES = ["public", "partners", "private"];
const NEW_STATUSES = ["draft", "planned", "confirmed"];
// Where an existing event may go (the API allows forward moves only; cancelling
// has its own button on the event page).
const FORWARD = {
  draft: ["draft", "planned", "confirmed", "completed"],
  planned: ["planned", "confirmed", "completed"],
  confirmed: ["confirmed", "completed"],
  completed: ["completed"],
  cancelled: ["cancelled"],
  // Under negotiation: it moves by accept/counter/decline, not by this form.
  proposed: ["proposed"],
};
// Partnerships in these states cannot carry an event.
const NO_EVENTS = new Set(["ended", "suspended"]);
// API field names that the form calls otherwise.
const ALIASES = { starts_at: "start", start_date: "start", ends_at: "end", end_date: "end" };

// ---------------------------------------------------------------------------
// Zones: offsets, and wall-clock times that do not exist or exist twice
// ---------------------------------------------------------------------------

const wallFormats = new Map();
/** The wall-clock time in `zone` at instant `ms`, as if it were UTC (ms). */
function wallClock(zone, ms) {
  if (!wallFormats.has(zone)) {
    wallFormats.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }));
  }
  const parts = Object.fromEntries(wallFormats.get(zone).formatToParts(new Date(ms))
    .map((p) => [p.type, p.value]));
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day),
    Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
}

/** The zone's offset from UTC at instant `ms`, in ms. */
function offsetAt(zone, ms) { return wallClock(zone, ms) - Math.floor(ms / 1000) * 1000; }

/** "UTC+3", "UTC+5:30", "UTC−4" */
function offsetText(offsetMs) {
  const minutes = Math.round(offsetMs / 60000);
  const sign = minutes < 0 ? "\u2212" : "+";
  const abs = Math.abs(minutes);
  const rest = abs % 60 ? `:${String(abs % 60).padStart(2, "0")}` : "";
  return minutes ? `UTC${sign}${Math.floor(abs / 60)}${rest}` : "UTC";
}

/** "Europe/Volgograd, UTC+3" (the offset at `when`, default now). */
export function zoneLabel(zone, when = Date.now()) {
  try {
    return `${zone}, ${offsetText(offsetAt(zone, when))}`;
  } catch {
    return zone;
  }
}

function naiveToUtcGuess(naive) {
  const [date, time = "00:00"] = naive.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  return Date.UTC(y, m - 1, d, hh, mm);
}

/** The instant where the zone's offset changes between `lo` and `hi` (to the minute). */
function transition(zone, lo, hi) {
  const before = offsetAt(zone, lo);
  while (hi - lo > 60000) {
    const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
    if (offsetAt(zone, mid) === before) lo = mid; else hi = mid;
  }
  return hi;
}

/**
 * How the naive wall-clock time `naive` ("2027-03-28T02:30") exists in `zone`:
 * { ok: true, instant } or { ok: false, kind: "gap"|"fold", from, to } where
 * from/to are the wall-clock times (as UTC ms) at the edges of the missing or
 * doubled hour.
 */
export function checkLocalTime(naive, zone) {
  const wall = naiveToUtcGuess(naive);
  const day = 36 * 3600 * 1000;
  const offsets = new Set([offsetAt(zone, wall - day), offsetAt(zone, wall + day)]);
  const instants = [...offsets].map((o) => wall - o).filter((ms) => wallClock(zone, ms) === wall);
  if (instants.length === 1) return { ok: true, instant: instants[0] };
  const change = transition(zone, wall - day, wall + day);
  const before = offsetAt(zone, change - 60000);
  const after = offsetAt(zone, change);
  // Gap: the wall clock jumps from change+before to change+after. Fold: it
  // goes back from change+before to change+after and runs that hour again.
  return { ok: false, kind: instants.length ? "fold" : "gap", from: change + before, to: change + after };
}

// ---------------------------------------------------------------------------
// Values: the event as the form shows it, and what the API is sent
// ---------------------------------------------------------------------------

/** The event's fields as the form's values (local wall-clock times, strings). */
function formFromEvent(event) {
  return {
    kind: event.kind,
    title: event.title || "",
    description: event.description || "",
    timezone: event.timezone,
    all_day: Boolean(event.all_day),
    start: event.all_day ? event.start_date : event.starts_at.slice(0, 16),
    end: event.all_day ? event.end_date : event.ends_at.slice(0, 16),
    venue: event.venue || "",
    capacity: event.capacity ?? "",
    chaperone_ratio: event.chaperone_ratio ?? 10,
    registration_deadline: event.registration_deadline ? event.registration_deadline.slice(0, 16) : "",
    status: event.status,
    visibility: event.visibility,
    guest_city_ids: [...(event.guest_city_ids || [])].sort((a, b) => a - b),
  };
}

const orNull = (text) => (text === "" ? null : text);
const numberOrNull = (text) => (text === "" ? null : Number(text));

/** The API body for the form's values (EventCreate / EventUpdate field names). */
function body(values) {
  const out = {
    kind: values.kind,
    title: values.title,
    description: orNull(values.description),
    timezone: values.timezone,
    all_day: values.all_day,
    venue: orNull(values.venue),
    capacity: numberOrNull(String(values.capacity)),
    chaperone_ratio: numberOrNull(String(values.chaperone_ratio)),
    registration_deadline: orNull(values.registration_deadline),
    status: values.status,
    visibility: values.visibility,
    guest_city_ids: values.guest_city_ids,
  };
  if (values.all_day) {
    out.start_date = orNull(values.start);
    out.end_date = orNull(values.end);
  } else {
    out.starts_at = orNull(values.start);
    out.ends_at = orNull(values.end);
  }
  return out;
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The fields of `mine` that differ from `base` (both API bodies). */
function changes(base, mine) {
  const out = {};
  for (const [name, value] of Object.entries(mine)) {
    if (!same(base[name], value)) out[name] = value;
  }
  // A switch between timed and all-day needs both ends in the new form.
  if ("all_day" in out) {
    for (const name of mine.all_day ? ["start_date", "end_date"] : ["starts_at", "ends_at"]) {
      out[name] = mine[name];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The view
// ---------------------------------------------------------------------------

export async function render(ctx) {
  const editing = Boolean(ctx.params.id);
  let event = null;
  if (editing) event = await ctx.get(`/api/v1/events/${ctx.params.id}`);
  const isAdmin = ctx.who?.role === "admin";
  const hostId = editing ? event.host_city_id
    : Number(ctx.query.get("host")) || ctx.homeCity || null;
  const cities = !editing && isAdmin ? (await ctx.all("/api/v1/cities")).items : null;
  const chosenHost = hostId || cities?.[0]?.id || null;
  const host = chosenHost ? await ctx.get(`/api/v1/cities/${chosenHost}`) : null;
  const partners = host ? (await ctx.all(`/api/v1/cities/${host.id}/partners`)).items : [];

  const title = editing ? t("eventform.edit_title", { title: event.title }) : t("eventform.new_title");
  const form = new EventForm(ctx, { event, host, partners, cities });
  const intro = editing
    ? h("p", {}, h("a", { href: `/console/events/${event.id}` }, t("eventform.back_to_event")))
    : h("p", { class: "muted" }, t("eventform.new_intro"));
  return { title, body: h("section", { class: "event-form" }, h("h1", {}, title), intro, form.node) };
}

class EventForm {
  constructor(ctx, { event, host, partners, cities }) {
    this.ctx = ctx;
    this.event = event;
    this.etag = event?.etag || null;
    this.host = host;
    this.partners = partners;
    this.cities = cities;
    this.base = event ? body(formFromEvent(event)) : null;
    this.node = h("div", {});
    if (!host) {
      this.node.append(h("p", { class: "problem", role: "alert" }, t("eventform.no_host")));
      return;
    }
    this.build(event ? formFromEvent(event) : this.defaults());
  }

  defaults() {
    return {
      kind: "school_exchange", title: "", description: "", timezone: this.host.timezone,
      all_day: false, start: "", end: "", venue: "", capacity: "", chaperone_ratio: 10,
      registration_deadline: "", status: "draft", visibility: "public",
      // "Plan one with ..." links name the twin: ?guest=<id> (repeatable).
      guest_city_ids: this.ctx.query.getAll("guest").map(Number).filter(Boolean),
    };
  }

  build(values) {
    const statuses = this.event ? FORWARD[this.event.status] || [this.event.status] : NEW_STATUSES;
    const zones = zoneList(values.timezone, this.host.timezone);
    this.form = h("form", { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.save(); } },
      h("fieldset", {}, h("legend", {}, t("eventform.what")),
        field({ label: t("eventform.kind"), name: "kind", type: "select", value: values.kind,
          options: KINDS.map((k) => [k, label("kind", k)]) }),
        field({ label: t("eventform.title"), name: "title", value: values.title, required: true,
          maxlength: 200, autocomplete: "off" }),
        field({ label: t("eventform.description"), name: "description", type: "textarea",
          value: values.description, rows: 4, maxlength: 10000 })),
      h("fieldset", {}, h("legend", {}, t("eventform.who")),
        this.hostField(),
        this.guestsField(values.guest_city_ids)),
      h("fieldset", {}, h("legend", {}, t("eventform.when")),
        field({ label: t("eventform.timezone"), name: "timezone", type: "select", value: values.timezone,
          options: zones.map((z) => [z, z]), hint: t("eventform.timezone_hint") }),
        field({ label: t("eventform.all_day"), name: "all_day", type: "checkbox", value: values.all_day,
          hint: t("eventform.all_day_hint") }),
        h("div", { class: "field-row" },
          field({ label: t("eventform.start"), name: "start", type: values.all_day ? "date" : "datetime-local",
            value: values.start, required: true, hint: " " }),
          field({ label: t("eventform.end"), name: "end", type: values.all_day ? "date" : "datetime-local",
            value: values.end, required: true, hint: " " })),
        field({ label: t("eventform.deadline"), name: "registration_deadline", type: "datetime-local",
          value: values.registration_deadline, hint: " " })),
      h("fieldset", {}, h("legend", {}, t("eventform.where")),
        field({ label: t("eventform.venue"), name: "venue", value: values.venue, maxlength: 300 }),
        h("div", { class: "field-row" },
          field({ label: t("eventform.capacity"), name: "capacity", type: "number", value: values.capacity,
            min: 0, max: 1000000, inputmode: "numeric", hint: t("eventform.capacity_hint") }),
          field({ label: t("eventform.chaperone_ratio"), name: "chaperone_ratio", type: "number",
            value: values.chaperone_ratio, min: 1, max: 100, inputmode: "numeric",
            hint: t("eventform.chaperone_ratio_hint") }))),
      h("fieldset", {}, h("legend", {}, t("eventform.publishing")),
        h("div", { class: "field-row" },
          field({ label: t("eventform.status"), name: "status", type: "select", value: values.status,
            options: statuses.map((s) => [s, label("event_status", s)]) }),
          field({ label: t("eventform.visibility"), name: "visibility", type: "select",
            value: values.visibility, options: VISIBILITIES.map((v) => [v, label("visibility", v)]) }))),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, this.event ? t("eventform.save") : t("eventform.create")),
        h("a", { class: "button", href: this.event ? `/console/events/${this.event.id}` : "/console/" },
          t("eventform.discard"))));
    this.control("timezone").addEventListener("change", () => this.zoneChanged());
    this.control("all_day").addEventListener("change", () => this.allDayChanged());
    for (const name of ["start", "end", "registration_deadline"]) {
      this.control(name).addEventListener("change", () => this.checkTimes({ only: name }));
    }
    this.conflict = h("div", { class: "conflict-slot" });
    this.node.replaceChildren(this.conflict, this.form);
    this.showZone();
  }

  control(name) { return this.form.elements.namedItem(name); }

  hostField() {
    if (this.cities && !this.event) {
      // An administrator plans for any city; the host decides twins and zone.
      const select = field({ label: t("eventform.host"), name: "host_city_id", type: "select",
        value: this.host.id, options: this.cities.map((c) => [c.id, c.name]) });
      select.querySelector("select").addEventListener("change", (e) => {
        this.ctx.navigate(`/console/events/new?host=${e.target.value}`, { replace: true });
      });
      return select;
    }
    return h("div", { class: "field", dataset: { field: "host_city_id" } },
      h("span", { class: "field-label" }, t("eventform.host")),
      h("p", { class: "host-name" }, this.host.name),
      h("p", { class: "field-error", hidden: true }));
  }

  guestsField(chosen) {
    const open = this.partners.filter((p) => !NO_EVENTS.has(p.status) || chosen.includes(p.city.id));
    const group = h("fieldset", { class: "guests", dataset: { field: "guest_city_ids" } },
      h("legend", {}, t("eventform.guests")),
      open.length ? null : h("p", { class: "muted" }, t("eventform.no_twins")),
      h("ul", { class: "plain checks" }, open.map((p) => h("li", {},
        h("label", {},
          h("input", { type: "checkbox", name: "guest", value: p.city.id,
            checked: chosen.includes(p.city.id) }),
          ` ${p.city.name} `,
          h("span", { class: "muted" }, `(${label("partnership_status", p.status)})`))))),
      h("p", { class: "field-error", hidden: true }));
    return group;
  }

  /** The zone beside each time field, with its offset at that time. */
  showZone() {
    const zone = this.control("timezone").value;
    for (const name of ["start", "end", "registration_deadline"]) {
      const input = this.control(name);
      const when = input.value ? naiveToUtcGuess(input.value) - offsetAt(zone, naiveToUtcGuess(input.value))
        : Date.now();
      input.closest(".field").querySelector(".hint").textContent = zoneLabel(zone, when);
    }
  }

  zoneChanged() {
    this.showZone();
    this.checkTimes();
  }

  allDayChanged() {
    const allDay = this.control("all_day").checked;
    for (const [name, time] of [["start", "09:00"], ["end", "17:00"]]) {
      const input = this.control(name);
      const value = input.value;
      input.type = allDay ? "date" : "datetime-local";
      input.value = !value ? "" : allDay ? value.slice(0, 10) : `${value.slice(0, 10)}T${time}`;
    }
    this.showZone();
    this.checkTimes();
  }

  values() {
    const raw = formValues(this.form);
    raw.guest_city_ids = [...this.form.querySelectorAll('input[name="guest"]:checked')]
      .map((box) => Number(box.value)).sort((a, b) => a - b);
    return raw;
  }

  /** Refuses local times that do not exist or exist twice; true when all are fine. */
  checkTimes({ only } = {}) {
    const zone = this.control("timezone").value;
    const names = ["start", "end", "registration_deadline"].filter((name) => !only || name === only);
    let first = null;
    for (const name of names) {
      const input = this.control(name);
      const slot = input.closest(".field").querySelector(".field-error");
      // Days of an all-day event have no hours to miss.
      const timed = input.type === "datetime-local" && input.value;
      const found = timed ? checkLocalTime(input.value, zone) : { ok: true };
      if (found.ok) {
        if (slot.dataset.local) {
          slot.hidden = true;
          slot.textContent = "";
          delete slot.dataset.local;
          input.removeAttribute("aria-invalid");
        }
        continue;
      }
      const words = {
        time: formatDateTime(`${input.value}:00Z`, "UTC"),
        zone,
        from: formatDateTime(new Date(found.from).toISOString(), "UTC", { timeStyle: "short" }),
        to: formatDateTime(new Date(found.to).toISOString(), "UTC", { timeStyle: "short" }),
      };
      slot.textContent = t(found.kind === "gap" ? "eventform.time_gap" : "eventform.time_fold", words);
      slot.hidden = false;
      slot.dataset.local = "1";
      input.setAttribute("aria-invalid", "true");
      first ||= input;
    }
    if (this.control("start").value) this.showZone();
    return first;
  }

  async save() {
    clearErrors(this.form);
    this.conflict.replaceChildren();
    const wrong = this.checkRequired() || this.checkTimes();
    if (wrong) {
      wrong.focus();
      announce(t("problem.check_fields"));
      return;
    }
    const values = this.values();
    const mine = body(values);
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      let saved;
      if (this.event) {
        const changed = changes(this.base, mine);
        if (!Object.keys(changed).length) {
          announce(t("eventform.nothing_changed"));
          this.ctx.navigate(`/console/events/${this.event.id}`);
          return;
        }
        saved = await api.patch(`/api/v1/events/${this.event.id}`, changed, { ifMatch: this.etag });
      } else {
        saved = await api.post("/api/v1/events", { ...mine, host_city_id: this.host.id });
      }
      announce(this.event ? t("eventform.saved") : t("eventform.created"));
      this.ctx.navigate(`/console/events/${saved.id}`);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 412 && this.event) {
        await this.showConflict(mine);
      } else {
        this.showProblem(error);
      }
    } finally {
      button.disabled = false;
    }
  }

  /** The API's refusal beside the fields, with the rules it checks in words. */
  showProblem(error) {
    showErrors(this.form, error, ALIASES);
    if (!(error instanceof api.ApiError) || error.status !== 422) return;
    // "Not valid." alone would hide which rule was broken: say it.
    for (const [name, errors] of Object.entries(error.fields)) {
      const slot = name
        ? this.form.querySelector(`[data-field="${ALIASES[name] || name}"] .field-error`)
        : this.form.querySelector(".form-problem");
      if (!slot || !errors.every((e) => e.type === "value_error")) continue;
      slot.textContent = errors.map((e) => ruleMessage(e.msg)).join(" ");
    }
  }

  /** Start and end are needed before anything is sent. */
  checkRequired() {
    let first = null;
    for (const name of ["title", "start", "end"]) {
      const input = this.control(name);
      if (input.value.trim()) continue;
      const slot = input.closest(".field").querySelector(".field-error");
      slot.textContent = t("problem.field.missing");
      slot.hidden = false;
      input.setAttribute("aria-invalid", "true");
      first ||= input;
    }
    return first;
  }

  // -------------------------------------------------------------------------
  // 412: someone else saved first
  // -------------------------------------------------------------------------

  async showConflict(mine) {
    let theirs;
    try {
      theirs = await api.get(`/api/v1/events/${this.event.id}`);
    } catch (error) {
      showErrors(this.form, error, ALIASES);
      return;
    }
    const mineChanged = changes(this.base, mine);
    const theirBody = body(formFromEvent(theirs));
    const theirChanged = changes(this.base, theirBody);
    const names = [...new Set([...Object.keys(mineChanged), ...Object.keys(theirChanged)])]
      .filter((name) => !same(mine[name], theirBody[name]) && name in FIELD_LABELS);
    const reapply = async () => {
      try {
        const saved = await api.patch(`/api/v1/events/${this.event.id}`, mineChanged,
          { ifMatch: theirs.etag });
        announce(t("eventform.saved"));
        this.ctx.navigate(`/console/events/${saved.id}`);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 412) {
          await this.showConflict(mine);
        } else {
          this.conflict.replaceChildren();
          this.showProblem(error);
        }
      }
    };
    const heading = h("h2", { tabindex: "-1" }, t("eventform.conflict_title"));
    this.conflict.replaceChildren(h("section", { class: "conflict card", role: "alert" },
      heading,
      h("p", {}, t("eventform.conflict_intro")),
      names.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("caption", { class: "visually-hidden" }, t("eventform.conflict_title")),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("eventform.conflict_field")),
          h("th", { scope: "col" }, t("eventform.conflict_yours")),
          h("th", { scope: "col" }, t("eventform.conflict_theirs")))),
        h("tbody", {}, names.map((name) => h("tr", {},
          h("th", { scope: "row" }, t(FIELD_LABELS[name])),
          h("td", {}, name in mineChanged ? this.words(name, mine) : t("eventform.conflict_untouched")),
          h("td", {}, this.words(name, theirBody)))))))
        : h("p", {}, t("eventform.conflict_same")),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => this.ctx.refresh() }, t("eventform.keep_theirs")),
        h("button", { type: "button", class: "primary", onclick: reapply }, t("eventform.reapply")))));
    heading.focus();
    announce(t("eventform.conflict_title"));
  }

  /** A field's value in words, for the conflict table. */
  words(name, values) {
    const value = values[name];
    if (value === null || value === undefined || value === "") return "\u2014";
    const zone = values.timezone;
    switch (name) {
      case "kind": return label("kind", value);
      case "status": return label("event_status", value);
      case "visibility": return label("visibility", value);
      case "all_day": return value ? t("eventform.yes") : t("eventform.no");
      case "capacity": case "chaperone_ratio": return formatNumber(value);
      case "start_date": case "end_date": return formatDate(value);
      case "starts_at": case "ends_at": case "registration_deadline":
        return `${formatDateTime(`${value.slice(0, 16)}:00Z`, "UTC")} (${zone})`;
      case "guest_city_ids": return value.map((id) => this.cityName(id)).join(", ");
      default: return String(value);
    }
  }

  cityName(id) {
    return this.partners.find((p) => p.city.id === id)?.city.name || `#${id}`;
  }
}

// The API's rules for events, by a phrase of its message (English), in words.
const RULES = [
  [/must be after the start|must not be before/, "eventform.rule_end_after_start"],
  [/does not exist in/, "eventform.rule_gap"],
  [/is ambiguous in/, "eventform.rule_fold"],
  [/lasts at most (\d+) days/, "eventform.rule_too_long"],
  [/no partnership|neither ended nor suspended/, "eventform.rule_guest_twin"],
  [/cannot also be a guest/, "eventform.rule_host_guest"],
  [/give starts_at and ends_at|needs starts_at and ends_at/, "eventform.rule_times_needed"],
  [/needs start_date/, "eventform.rule_day_needed"],
];

function ruleMessage(msg) {
  for (const [pattern, key] of RULES) {
    const found = pattern.exec(msg);
    if (found) return t(key, { days: Number(found[1] || 0) });
  }
  // A rule this form does not know: the server's own sentence (in English).
  const text = msg.charAt(0).toUpperCase() + msg.slice(1);
  return currentLanguage() === "en" ? text : `${t("problem.field.value_error")} (${text})`;
}

const FIELD_LABELS = {
  kind: "eventform.kind", title: "eventform.title", description: "eventform.description",
  timezone: "eventform.timezone", all_day: "eventform.all_day", starts_at: "eventform.start",
  ends_at: "eventform.end", start_date: "eventform.start", end_date: "eventform.end", venue: "eventform.venue",
  capacity: "eventform.capacity", chaperone_ratio: "eventform.chaperone_ratio",
  registration_deadline: "eventform.deadline", status: "eventform.status", visibility: "eventform.visibility",
  guest_city_ids: "eventform.guests",
};

/** The zones to choose from: the browser's list, with the event's and the host's. */
function zoneList(...needed) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set([...needed.filter(Boolean), ...zones])].sort();
}
