// A city's calendar: /console/cities/{id}/calendar?view=month|agenda&month=YYYY-MM.
//
// Days are the CITY's days (its zone, from the API); an event whose own zone
// differs shows its time there too. All-day events are calendar days, which have
// no zone. The month grid is a list of days laid out in weeks (starting on the
// locale's first day of the week); on a phone it becomes a list of the days that
// have events. The Subscribe control gives the city's public iCalendar feed.

import { h, announce, uid } from "../dom.js";
import { t, label, formatDate, formatTime, currentLanguage } from "../i18n.js";
import { zoneLabel } from "./event-form.js";
import { drawQr } from "../qr.js";

const DAY = 86400000;

// ---------------------------------------------------------------------------
// Days in a zone
// ---------------------------------------------------------------------------

const dayFormats = new Map();
/** The calendar day ("2027-04-20") of instant `iso` in `zone`. */
function dayIn(iso, zone) {
  if (!dayFormats.has(zone)) {
    // en-CA writes dates as YYYY-MM-DD.
    dayFormats.set(zone, new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }));
  }
  return dayFormats.get(zone).format(typeof iso === "number" ? new Date(iso) : new Date(iso));
}

const toMs = (day) => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));
const fromMs = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Every day from `first` to `last` inclusive ("YYYY-MM-DD"). */
function daysBetween(first, last) {
  const out = [];
  for (let ms = toMs(first); ms <= toMs(last) && out.length < 400; ms += DAY) out.push(fromMs(ms));
  return out;
}

/** The days an event covers, in the city's zone. */
function eventDays(event, zone) {
  if (event.all_day) return daysBetween(event.start_date, event.end_date || event.start_date);
  // The end is exclusive: an event ending at midnight does not take the next day.
  const end = Math.max(Date.parse(event.starts_at_utc), Date.parse(event.ends_at_utc) - 1);
  return daysBetween(dayIn(event.starts_at_utc, zone), dayIn(end, zone));
}

/** 1 = Monday ... 7 = Sunday: the first day of the week where the reader lives. */
function firstDayOfWeek() {
  const language = currentLanguage();
  const tag = navigator.languages.find((l) => l.startsWith(language)) || language;
  try {
    const locale = new Intl.Locale(tag);
    const info = typeof locale.getWeekInfo === "function" ? locale.getWeekInfo() : locale.weekInfo;
    if (info?.firstDay) return info.firstDay;
  } catch {
    // An old browser: Monday, as ISO 8601 has it.
  }
  return 1;
}

/** ISO weekday (1 = Monday) of a day. */
const weekday = (day) => ((new Date(toMs(day)).getUTCDay() + 6) % 7) + 1;

function monthOf(text, zone) {
  if (/^\d{4}-(0[1-9]|1[0-2])$/.test(text || "")) return text;
  return dayIn(Date.now(), zone).slice(0, 7);
}

function shiftMonth(month, by) {
  const [y, m] = month.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1 + by, 1));
  return date.toISOString().slice(0, 7);
}

function lastDay(month) { return fromMs(toMs(`${shiftMonth(month, 1)}-01`) - DAY); }

// ---------------------------------------------------------------------------
// The view
// ---------------------------------------------------------------------------

export async function render(ctx) {
  const id = ctx.params.id;
  const city = await ctx.get(`/api/v1/cities/${id}`);
  const zone = city.timezone;
  const view = ctx.query.get("view") === "agenda" ? "agenda" : "month";
  const month = monthOf(ctx.query.get("month"), zone);
  const today = dayIn(Date.now(), zone);
  const base = `/console/cities/${id}/calendar`;
  const title = t("calendar.title", { city: city.name });

  let content;
  if (view === "month") {
    const { items } = await ctx.all("/api/v1/events", {
      city_id: id, from: `${month}-01`, to: lastDay(month), timezone: zone });
    content = monthView({ month, items, zone, today, base });
  } else {
    const { items } = await ctx.all("/api/v1/events", { city_id: id, from: today, timezone: zone });
    content = agendaView({ items, zone, today });
  }

  const link = (to, text) => h("a", {
    href: `${base}?view=${to}&month=${month}`, class: "button",
    "aria-current": view === to ? "page" : null }, text);
  const body = h("section", { class: "calendar" },
    h("h1", {}, title),
    h("p", { class: "muted" }, t("calendar.zone_note", { zone: zoneLabel(zone) })),
    h("div", { class: "calendar-tools" },
      h("nav", { class: "row calendar-views", "aria-label": t("calendar.views") },
        link("month", t("calendar.month_view")), link("agenda", t("calendar.agenda_view"))),
      subscribe(city)),
    content);
  return { title: view === "month" ? `${title}: ${monthName(month)}` : title, body };
}

function monthName(month) {
  return formatDate(`${month}-01`, { month: "long", year: "numeric" });
}

/** One event as a line: time (in both zones where they differ), kind, title, status. */
function eventItem(event, zone, day) {
  const cancelled = event.status === "cancelled";
  let when;
  if (event.all_day) {
    when = t("calendar.all_day");
  } else if (dayIn(event.starts_at_utc, zone) === day || day === undefined) {
    const here = formatTime(event.starts_at_utc, zone);
    when = event.timezone === zone ? here
      : t("calendar.both_zones", { here, there: formatTime(event.starts_at_utc, event.timezone),
        zone: event.timezone });
  } else {
    when = t("calendar.continues");
  }
  return h("li", { class: cancelled ? "cal-event cancelled" : "cal-event" },
    h("span", { class: "cal-time" }, when), " ",
    h("span", { class: `kind kind-${event.kind}` }, label("kind", event.kind)), " ",
    h("a", { href: `/console/events/${event.id}` }, event.title),
    cancelled ? h("span", { class: "badge neutral" }, label("event_status", "cancelled")) : null);
}

function monthView({ month, items, zone, today, base }) {
  const byDay = new Map();
  const sorted = [...items].sort((a, b) => a.starts_at_utc.localeCompare(b.starts_at_utc));
  for (const event of sorted) {
    for (const day of eventDays(event, zone)) {
      if (!byDay.has(day)) byDay.set(day, []);
      byDay.get(day).push(event);
    }
  }
  const first = firstDayOfWeek();
  const days = daysBetween(`${month}-01`, lastDay(month));
  // Weekday names in the reader's order, from a known week (2024-01-01 was a Monday).
  const order = Array.from({ length: 7 }, (_, i) => ((first - 1 + i) % 7) + 1);
  const names = order.map((d) => formatDate(fromMs(Date.UTC(2024, 0, d)), { weekday: "short" }));
  const grid = h("ol", { class: "month-grid", "aria-label": monthName(month) },
    days.map((day, i) => {
      const events = byDay.get(day) || [];
      const item = h("li", {
        class: ["cal-day", events.length ? "" : "empty", day === today ? "today" : ""].join(" ").trim(),
        "aria-current": day === today ? "date" : null,
      },
      h("p", { class: "cal-date" },
        h("time", { datetime: day },
          h("span", { class: "day-num", "aria-hidden": "true" }, String(Number(day.slice(8)))),
          h("span", { class: "day-full" }, formatDate(day, { weekday: "long", day: "numeric", month: "long" })))),
      events.length ? h("ul", { class: "cal-events" }, events.map((e) => eventItem(e, zone, day))) : null);
      // The first day sits under its weekday; the others follow.
      if (i === 0) item.style.gridColumnStart = String(order.indexOf(weekday(day)) + 1);
      return item;
    }));
  const shown = items.length;
  return h("div", { class: "month" },
    h("div", { class: "spread month-nav" },
      h("a", { href: `${base}?view=month&month=${shiftMonth(month, -1)}`, rel: "prev" },
        `\u2190 ${monthName(shiftMonth(month, -1))}`),
      h("h2", {}, monthName(month)),
      h("a", { href: `${base}?view=month&month=${shiftMonth(month, 1)}`, rel: "next" },
        `${monthName(shiftMonth(month, 1))} \u2192`)),
    shown ? null : h("p", { class: "muted" }, t("calendar.month_empty")),
    h("div", { class: "weekdays", "aria-hidden": "true" }, names.map((n) => h("span", {}, n))),
    grid);
}

function agendaView({ items, zone, today }) {
  const groups = new Map();
  const sorted = [...items].sort((a, b) => a.starts_at_utc.localeCompare(b.starts_at_utc));
  for (const event of sorted) {
    // An event already under way is listed today.
    const start = event.all_day ? event.start_date : dayIn(event.starts_at_utc, zone);
    const day = start < today ? today : start;
    if (!groups.has(day)) groups.set(day, []);
    groups.get(day).push(event);
  }
  if (!groups.size) return h("p", { class: "muted" }, t("calendar.agenda_empty"));
  return h("div", { class: "agenda" }, [...groups.keys()].sort().map((day) => h("section", {
    class: "agenda-day" },
  h("h2", {}, h("time", { datetime: day },
    formatDate(day, { weekday: "long", day: "numeric", month: "long", year: "numeric" }))),
  h("ul", { class: "plain cal-events" }, groups.get(day).map((e) => eventItem(e, zone, day))))));
}

// ---------------------------------------------------------------------------
// Subscribe: the public feed, to copy or to scan
// ---------------------------------------------------------------------------

function subscribe(city) {
  const https = `${location.origin}/calendars/cities/${city.id}.ics`;
  const webcal = https.replace(/^https?:/, "webcal:");
  const qrSlot = h("div", { class: "qr" });
  const details = h("details", { class: "subscribe" },
    h("summary", { class: "button" }, t("calendar.subscribe")),
    h("div", { class: "subscribe-body card" },
      h("p", {}, t("calendar.subscribe_intro", { city: city.name })),
      copyField(t("calendar.webcal_link"), webcal),
      copyField(t("calendar.https_link"), https),
      h("h2", {}, t("calendar.qr_title")),
      h("p", { class: "hint" }, t("calendar.qr_hint")),
      qrSlot,
      h("h2", {}, t("calendar.how_title")),
      h("dl", { class: "how" },
        ["google", "apple", "outlook", "thunderbird"].map((app) => [
          h("dt", {}, t(`calendar.app_${app}`)), h("dd", {}, t(`calendar.how_${app}`))]))));
  details.addEventListener("toggle", () => {
    if (details.open && !qrSlot.firstChild) drawQr(qrSlot, https, t("calendar.qr_label"));
  });
  return details;
}

function copyField(text, value) {
  const id = uid("feed");
  const status = h("span", { class: "copied", role: "status" });
  const input = h("input", { id, type: "text", readonly: true, value, class: "feed-url",
    spellcheck: "false" });
  const copy = async () => {
    let done = false;
    if (navigator.clipboard?.writeText && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(value);
        done = true;
      } catch {
        done = false;
      }
    }
    if (!done) {
      // Without the async clipboard (plain http, an old browser): select and copy.
      input.focus();
      input.select();
      done = document.execCommand("copy");
    }
    status.textContent = done ? t("calendar.copied") : t("calendar.copy_failed");
    announce(status.textContent);
  };
  return h("div", { class: "field copy-field" },
    h("label", { for: id }, text),
    h("div", { class: "copy-row" }, input,
      h("button", { type: "button", onclick: copy, "aria-describedby": id },
        t("calendar.copy"))),
    status);
}
