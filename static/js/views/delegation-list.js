// The printable delegation list: who is going, by home city, with what a border
// or a host family needs (birth date, minor, guardian). Print hides the frame.

import { h } from "../dom.js";
import { t, label, formatDate, currentLanguage, zoneName } from "../i18n.js";
import { eventWhen, loadCities } from "./event.js";
import { HOLDING } from "../enums.js";

// Going: a confirmed place, or already checked in as there.
const GOING = ["confirmed", "attended"];

/** The people of these registrations, by id: the caller's list, then any not in it. */
export async function people(ctx, regs) {
  const found = new Map();
  const listed = await ctx.all("/api/v1/participants");
  for (const p of listed.items) found.set(p.id, p);
  const missing = [...new Set(regs.map((r) => r.participant_id))].filter((id) => !found.has(id));
  await Promise.all(missing.map((id) => ctx.get(`/api/v1/participants/${id}`)
    .then((p) => found.set(p.id, p))
    .catch((error) => { if (error.name === "AbortError") throw error; })));
  return found;
}

/** The registrations holding a place at the event, and their people by id. */
export async function holders(ctx, eventId) {
  const regs = await ctx.all(`/api/v1/events/${eventId}/registrations`, { status: HOLDING });
  return { regs: regs.items, people: await people(ctx, regs.items) };
}

function cityTable(city, rows) {
  const headingId = `city-${city.id}`;
  return h("section", { class: "delegation-city", "aria-labelledby": headingId },
    h("h2", { id: headingId }, city.name, " ",
      h("span", { class: "muted" }, t("delegation.count", { count: rows.length }))),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("delegation.col.number")),
        h("th", { scope: "col" }, t("event.col.name")),
        h("th", { scope: "col" }, t("event.col.role")),
        h("th", { scope: "col" }, t("delegation.col.birth_date")),
        h("th", { scope: "col" }, t("event.col.minor")),
        h("th", { scope: "col" }, t("delegation.col.guardian")))),
      h("tbody", {}, rows.map(({ reg, person }, i) => h("tr", {},
        h("td", { class: "num" }, String(i + 1)),
        h("th", { scope: "row" }, person?.full_name || t("event.person_unknown", { id: reg.participant_id })),
        h("td", {}, label("reg_role", reg.role)),
        h("td", {}, person?.birth_date ? formatDate(person.birth_date) : ""),
        h("td", {}, reg.is_minor ? t("event.minor_yes") : t("event.minor_no")),
        h("td", {}, reg.is_minor ? person?.guardian_name || t("delegation.no_guardian") : "")))))));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [event, regs] = await Promise.all([
    ctx.get(`/api/v1/events/${id}`),
    ctx.all(`/api/v1/events/${id}/registrations`, { status: GOING }),
  ]);
  const going = regs.items.filter((r) => GOING.includes(r.status));
  const found = await people(ctx, going);
  const homeIds = [...found.values()].map((p) => p.home_city_id);
  const cities = await loadCities(ctx.get, [event.host_city_id, ...event.guest_city_ids, ...homeIds]);
  const collator = new Intl.Collator(currentLanguage(), { sensitivity: "base" });

  // By home city: the host first, then the guests in the event's order, then anyone else.
  const order = [event.host_city_id, ...event.guest_city_ids];
  const groups = new Map();
  for (const reg of going) {
    const person = found.get(reg.participant_id);
    const cityId = person?.home_city_id ?? 0;
    if (!groups.has(cityId)) groups.set(cityId, []);
    groups.get(cityId).push({ reg, person });
  }
  const rank = (cityId) => (order.includes(cityId) ? order.indexOf(cityId) : order.length);
  const sections = [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([cityId, rows]) => {
      rows.sort((x, y) => collator.compare(x.person?.full_name || "", y.person?.full_name || ""));
      const city = cities.get(cityId) || { id: cityId, name: t("delegation.unknown_city") };
      return cityTable(city, rows);
    });

  const host = cities.get(event.host_city_id)?.name || "";
  const guests = event.guest_city_ids.map((g) => cities.get(g)?.name).filter(Boolean).join(", ");
  const printed = formatDate(new Date().toISOString(), { dateStyle: "long" });
  const body = h("article", { class: "delegation-list" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back")),
      h("button", { type: "button", class: "primary", onclick: () => window.print() },
        t("delegation.print"))),
    h("h1", {}, event.title),
    h("dl", { class: "facts" },
      h("dt", {}, t("event.kind")), h("dd", {}, label("kind", event.kind)),
      h("dt", {}, t("event.when")), h("dd", {}, eventWhen(event),
        event.all_day ? null : ` (${zoneName(event.timezone, new Date(event.starts_at))})`),
      event.venue ? [h("dt", {}, t("event.venue")), h("dd", {}, event.venue)] : null,
      h("dt", {}, t("event.host")), h("dd", {}, host),
      h("dt", {}, t("event.guests")), h("dd", {}, guests || t("event.no_guests")),
      h("dt", {}, t("delegation.total")), h("dd", {}, t("delegation.count", { count: going.length }))),
    event.status === "cancelled"
      ? h("p", { class: "problem" }, t("delegation.event_cancelled")) : null,
    sections.length ? sections : h("p", {}, t("delegation.nobody")),
    h("p", { class: "muted delegation-printed" }, t("delegation.printed", { date: printed })));
  return { title: t("delegation.title", { title: event.title }), body };
}
