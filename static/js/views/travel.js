// The travel board of an event (GET /api/v1/events/{id}/travel-board): who
// arrives where and when, who meets them, who leaves when and who sees them off,
// and who has no arrival or departure recorded yet. Times are local at each place,
// as the travellers' tickets give them; a group that misses part or all of the
// event as it is now (it moved since, say) is flagged. Print hides the frame.

import { h } from "../dom.js";
import { t, label, formatDateTime, zoneName } from "../i18n.js";
import { eventWhen, loadCities } from "./event.js";

/** "Turkish Airlines TK 123, Istanbul → Volgograd" */
function journeyLine(journey) {
  const service = [journey.carrier, journey.number].filter(Boolean).join(" ");
  return [label("travel.mode", journey.mode), service ? ` ${service}` : "",
    `, ${journey.from_place} → ${journey.to_place}`].join("");
}

function travellerNames(journey) {
  return journey.travellers.map((p) => p.full_name || t("event.person_unknown", { id: p.participant_id }))
    .join(", ");
}

function groupCard(group, cities, direction, n) {
  const headingId = `${direction}-${n}`;
  const at = new Date(group.at);
  const place = group.code ? `${group.place} (${group.code})` : group.place;
  const who = direction === "arrivals" ? "travel.met_by" : "travel.seen_off_by";
  return h("section", { class: "card travel-group", "aria-labelledby": headingId },
    h("h3", { id: headingId },
      h("time", { datetime: group.at }, formatDateTime(group.at, group.timezone)), " · ", place),
    h("p", { class: "muted small" }, t("travel.local_time", { zone: zoneName(group.timezone, at) })),
    group.timing !== "in_time"
      ? h("p", {}, h("span", { class: group.timing === "misses_all" ? "badge danger" : "badge warn" },
        t(`travel.${direction}.${group.timing}`))) : null,
    h("p", {}, h("strong", {}, t("travel.people", { count: group.count })), " · ",
      group.nobody_meets
        ? h("span", { class: "badge warn" }, t(direction === "arrivals" ? "travel.nobody_meets" : "travel.nobody_sees_off"))
        : t(who, { names: group.met_by.join("; ") })),
    h("ul", { class: "travel-journeys" }, group.journeys.map((journey) => h("li", {},
      h("span", { class: "travel-city" }, cities.get(journey.city_id)?.name || ""), " — ",
      journeyLine(journey), ": ", travellerNames(journey)))));
}

function groupsSection(groups, cities, direction) {
  const headingId = `travel-${direction}`;
  return h("section", { class: "travel-direction", "aria-labelledby": headingId },
    h("h2", { id: headingId }, t(`travel.${direction}`)),
    groups.length ? groups.map((g, i) => groupCard(g, cities, direction, i + 1))
      : h("p", { class: "muted" }, t(`travel.no_${direction}`)));
}

function missingSection(board, cities) {
  const rows = board.missing;
  return h("section", { class: "card", "aria-labelledby": "travel-missing" },
    h("h2", { id: "travel-missing" }, t("travel.missing"),
      " ", h("span", { class: "muted" }, t("travel.people", { count: rows.length }))),
    rows.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("event.col.name")),
        h("th", { scope: "col" }, t("event.col.role")),
        h("th", { scope: "col" }, t("travel.col.missing")))),
      // The home city under the name: three columns fit a phone.
      h("tbody", {}, rows.map((m) => h("tr", {},
        h("th", { scope: "row" }, m.full_name || t("event.person_unknown", { id: m.participant_id }),
          h("span", { class: "home-city muted" }, cities.get(m.home_city_id)?.name || "")),
        h("td", {}, label("reg_role", m.role)),
        h("td", {}, m.missing.map((d) => label("travel.direction", d)).join(", "),
          m.late ? [" ", h("span", { class: "badge danger" }, t("travel.late", { count: board.days }))] : null))))))
      : h("p", {}, t("travel.nobody_missing")));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [event, board] = await Promise.all([
    ctx.get(`/api/v1/events/${id}`),
    ctx.get(`/api/v1/events/${id}/travel-board`),
  ]);
  const journeys = [...board.arrivals, ...board.departures].flatMap((g) => g.journeys);
  const cities = await loadCities(ctx.get, [
    event.host_city_id, ...event.guest_city_ids, ...journeys.map((j) => j.city_id),
    ...board.missing.map((m) => m.home_city_id)]);
  const empty = board.journeys_without_travellers;
  const body = h("article", { class: "travel-board" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back")),
      h("a", { class: "button", href: `/api/v1/events/${event.id}/travel-board.csv`, download: "" },
        t("travel.csv")),
      h("button", { type: "button", class: "primary", onclick: () => window.print() },
        t("delegation.print"))),
    h("h1", {}, t("travel.title", { title: event.title })),
    h("p", { class: "muted" }, eventWhen(event), event.venue ? ` · ${event.venue}` : ""),
    event.status === "cancelled" ? h("p", { class: "problem" }, t("delegation.event_cancelled")) : null,
    missingSection(board, cities),
    groupsSection(board.arrivals, cities, "arrivals"),
    groupsSection(board.departures, cities, "departures"),
    empty.length ? h("p", { class: "muted" }, t("travel.empty_journeys",
      { count: empty.length, ids: empty.map((j) => `#${j}`).join(", ") })) : null);
  return { title: t("travel.title", { title: event.title }), body };
}
