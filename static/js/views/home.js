// Home: for the city the person acts for, the countdown to World Twin Cities Day
// with the twinnings that have nothing planned for it, the next exchanges, and
// everything that needs attention before departure. An admin (no city) gets a
// city search and a summary of the network, or any city's home with ?city=<id>.
//
// Everything shown comes from this one render (the router drops it if the
// address changed meanwhile), so a city's name never heads another city's data.

import { h } from "../dom.js";
import {
  t, label, formatDate, formatRange, formatRelativeDays, formatNumber, countryName,
} from "../i18n.js";

const NEXT_SHOWN = 6;
/** How many upcoming events are checked for what needs attention. */
const CHECKED = 20;
const GOING_AHEAD = ["planned", "confirmed"];
const STATUS_BADGE = { confirmed: "ok", planned: "neutral", draft: "warn", cancelled: "danger",
  completed: "neutral", proposed: "warn" };


/** When an event happens, in the city's zone; all-day events as days (they have no zone). */
export function when(event, timeZone) {
  if (event.all_day && event.start_date) {
    const end = event.end_date || event.start_date;
    if (end === event.start_date) return formatDate(event.start_date);
    return formatRange(`${event.start_date}T12:00:00Z`, `${end}T12:00:00Z`, "UTC",
      { dateStyle: "medium" });
  }
  return formatRange(event.starts_at, event.ends_at, timeZone,
    { dateStyle: "medium", timeStyle: "short" });
}

function statusBadge(status) {
  return h("span", { class: `badge ${STATUS_BADGE[status] || "neutral"}` }, label("event_status", status));
}

// ---------------------------------------------------------------------------
// World Twin Cities Day
// ---------------------------------------------------------------------------

function countdown(next) {
  const days = next.days_remaining;
  return h("p", { class: "countdown" },
    h("span", { class: "countdown-days" }, days === 0 ? t("home.wtcd_today") : formatRelativeDays(days)),
    " ", h("span", {}, t("home.wtcd_date", { date: formatDate(next.date, { dateStyle: "full" }) })));
}

function twinCitiesDay(next, plan, city) {
  const planLink = (twin) => `/console/events/new?host=${city.id}&guest=${twin.partner_city_id}`;
  const without = plan.without_event;
  const withEvent = plan.with_event;
  return h("section", { class: "card wtcd", "aria-labelledby": "home-wtcd" },
    h("h2", { id: "home-wtcd" }, t("home.wtcd_title")),
    countdown(next),
    h("h3", {}, t("home.wtcd_unplanned_title")),
    without.length
      ? h("ul", { class: "plain" }, without.map((twin) => h("li", { class: "spread" },
        h("span", {}, h("a", { href: `/console/cities/${twin.partner_city_id}` }, twin.partner_name),
          " ", h("span", { class: "muted" }, countryName(twin.partner_country_code))),
        h("a", { href: planLink(twin), class: "button" },
          t("home.wtcd_plan", { city: twin.partner_name })))))
      : h("p", { class: "muted" }, plan.with_event.length
        ? t("home.wtcd_all_planned") : t("home.wtcd_no_twins")),
    withEvent.length ? h("p", {}, t("home.wtcd_planned_with", { count: withEvent.length }), " ",
      withEvent.map((twin, i) => [i ? ", " : "", twin.partner_name])) : null);
}

// ---------------------------------------------------------------------------
// Next exchanges
// ---------------------------------------------------------------------------

function nextExchanges(events, city) {
  const shown = events.slice(0, NEXT_SHOWN);
  return h("section", { class: "card", "aria-labelledby": "home-next" },
    h("h2", { id: "home-next" }, t("home.next_title")),
    shown.length
      ? h("ul", { class: "plain next-events" }, shown.map((event) => h("li", {
        class: event.status === "cancelled" ? "cancelled" : null,
      },
      h("a", { href: `/console/events/${event.id}`, class: "event-title" }, event.title),
      h("div", { class: "row" },
        h("span", {}, when(event, city.timezone)),
        h("span", { class: `kind kind-${event.kind}` }, label("kind", event.kind)),
        statusBadge(event.status)))))
      : h("p", { class: "muted" }, t("home.next_empty")),
    h("p", {}, h("a", { href: `/console/cities/${city.id}/calendar` }, t("home.calendar_link"))));
}

// ---------------------------------------------------------------------------
// Needs attention before departure
// ---------------------------------------------------------------------------

/** Readiness for each upcoming event this person runs (the host's side); 403/404: skipped. */
async function readinessOf(ctx, events, city) {
  const runs = ctx.who?.role === "admin"
    || (ctx.who?.role === "coordinator" && ctx.homeCity === city.id);
  if (!runs) return [];
  const mine = events.filter((e) => e.host_city_id === city.id
    && e.status !== "cancelled" && e.status !== "completed").slice(0, CHECKED);
  const checks = await Promise.all(mine.map((event) =>
    ctx.get(`/api/v1/events/${event.id}/readiness`).then((readiness) => ({ event, readiness }),
      (error) => {
        if (error.name === "AbortError") throw error;
        if (error.status === 403 || error.status === 404) return null;
        throw error;
      })));
  return checks.filter(Boolean);
}

function eventLink(event, query) {
  const search = new URLSearchParams(query || {}).toString();
  return `/console/events/${event.id}${search ? `?${search}` : ""}`;
}

function names(problems) {
  return problems.map((p) => p.name).filter(Boolean).join(", ");
}

/** The problems of one event as lines, each linking to where it is fixed. */
function attentionItems(event, readiness) {
  const items = [];
  const of = (kind, withPerson) => readiness.problems.filter((p) => p.kind === kind
    && (withPerson === undefined || Boolean(p.participant_id) === withPerson));
  const consent = of("consent_missing");
  if (consent.length) {
    items.push([t("home.att_consent", { count: consent.length, names: names(consent) }),
      eventLink(event, { status: "pending_consent" })]);
  }
  if (readiness.chaperones_missing > 0) {
    items.push([t("home.att_chaperones", { count: readiness.chaperones_missing }),
      eventLink(event, { role: "chaperone" })]);
  }
  const awaiting = of("chaperone_missing", true);
  if (awaiting.length) {
    items.push([t("home.att_awaiting", { count: awaiting.length, names: names(awaiting) }),
      eventLink(event, { status: "awaiting_chaperone" })]);
  }
  if (readiness.overbooked > 0) {
    items.push([t("home.att_overbooked", { count: readiness.overbooked }), eventLink(event)]);
  }
  if (readiness.waitlisted > 0) {
    items.push([t("home.att_waitlist", { count: readiness.waitlisted }),
      eventLink(event, { status: "waitlisted" })]);
  }
  for (const p of of("unreachable")) {
    items.push([t("home.att_unreachable", { name: p.name }), eventLink(event, { q: p.name })]);
  }
  for (const p of of("birth_date_missing")) {
    items.push([t("home.att_birth_date", { name: p.name }), eventLink(event, { q: p.name })]);
  }
  return items;
}

function attention(checks, city, runs) {
  const rows = checks.map(({ event, readiness }) => ({
    event, readiness, items: attentionItems(event, readiness),
  }));
  const needing = rows.filter((row) => row.items.length);
  // "Ready" only for an event that is going ahead with nothing left: never a draft.
  const ready = rows.filter((row) => !row.items.length && isReady(row));
  return h("section", { class: "card attention", "aria-labelledby": "home-attention" },
    h("h2", { id: "home-attention" }, t("home.attention_title")),
    !runs ? h("p", { class: "muted" }, t("home.attention_not_host"))
      : needing.length
        ? h("ul", { class: "plain" }, needing.map(({ event, items }) => h("li", {},
          h("h3", {}, h("a", { href: eventLink(event) }, event.title)),
          h("p", { class: "row" }, h("span", {}, when(event, city.timezone)), statusBadge(event.status)),
          h("ul", { class: "attention-items" }, items.map(([text, href]) =>
            h("li", {}, h("a", { href }, text)))))))
        : h("p", { class: "muted" }, t("home.attention_empty")),
    ready.length ? h("p", {}, h("span", { class: "badge ok" }, t("home.ready")), " ",
      ready.map(({ event }, i) => [i ? ", " : "", h("a", { href: eventLink(event) }, event.title)]))
      : null);
}

function isReady({ event, readiness }) {
  return readiness.ready && GOING_AHEAD.includes(event.status)
    && GOING_AHEAD.includes(readiness.event_status);
}

// ---------------------------------------------------------------------------
// The views
// ---------------------------------------------------------------------------

async function cityHome(ctx, cityId) {
  const city = await ctx.get(`/api/v1/cities/${cityId}`);
  const next = await ctx.get("/api/v1/twin-cities-day/next", { tz: city.timezone });
  const [plan, events] = await Promise.all([
    ctx.get(`/api/v1/cities/${city.id}/twin-cities-day`, { year: next.year }),
    ctx.get("/api/v1/events", { city_id: city.id, from: next.today, limit: 50 }),
  ]);
  const upcoming = events.items;
  const runs = ctx.who?.role === "admin"
    || (ctx.who?.role === "coordinator" && ctx.homeCity === city.id);
  const checks = await readinessOf(ctx, upcoming, city);
  const title = t("home.title_city", { city: city.name });
  const body = h("section", { class: "home" },
    h("h1", {}, title),
    ctx.who?.role === "admin" ? h("p", {}, h("a", { href: "/console/" }, t("home.back_network"))) : null,
    h("div", { class: "grid" },
      twinCitiesDay(next, plan, city),
      nextExchanges(upcoming, city)),
    attention(checks, city, runs));
  return { title, body };
}

async function networkHome(ctx) {
  const [next, cities, partnerships, events] = await Promise.all([
    ctx.get("/api/v1/twin-cities-day/next"),
    ctx.get("/api/v1/cities", { limit: 200 }),
    ctx.get("/api/v1/partnerships", { limit: 1 }),
    ctx.get("/api/v1/events", { from: new Date().toISOString().slice(0, 10), limit: 1 }),
  ]);
  const title = t("home.title_network");
  const search = h("form", { role: "search", class: "row", action: "/console/cities",
    onsubmit: (event) => {
      event.preventDefault();
      const q = event.target.elements.q.value.trim();
      ctx.navigate(`/console/cities${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    } },
  h("label", { for: "home-city-q" }, t("home.find_city")),
  h("input", { id: "home-city-q", name: "q", type: "search", maxlength: 100, autocomplete: "off" }),
  h("button", { type: "submit", class: "primary" }, t("home.find")));
  const body = h("section", { class: "home" },
    h("h1", {}, title),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "home-choose" },
        h("h2", { id: "home-choose" }, t("home.choose_city")),
        search,
        h("ul", { class: "city-choice" }, cities.items.map((city) => h("li", {},
          h("a", { href: `/console/?city=${city.id}` }, city.name))))),
      h("section", { class: "card", "aria-labelledby": "home-network" },
        h("h2", { id: "home-network" }, t("home.network_title")),
        h("dl", { class: "facts" },
          h("dt", {}, t("home.network_cities")), h("dd", {}, formatNumber(cities.total)),
          h("dt", {}, t("home.network_twinnings")), h("dd", {}, formatNumber(partnerships.total)),
          h("dt", {}, t("home.network_upcoming")), h("dd", {}, formatNumber(events.total))),
        h("h3", {}, t("home.wtcd_title")),
        countdown(next),
        h("p", {}, h("a", { href: "/console/cities" }, t("home.all_cities"))))));
  return { title, body };
}

export async function render(ctx) {
  const asked = ctx.who?.role === "admin" ? Number(ctx.query.get("city")) || null : null;
  const cityId = ctx.homeCity || asked;
  return cityId ? cityHome(ctx, cityId) : networkHome(ctx);
}
