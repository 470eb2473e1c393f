// Twinnings of a city: each twin with its status, the date it was twinned (a year
// alone when that is all that is known), the history of status changes, the last
// and next exchange between the two cities and who hosted how often.
//
// The city's name and every twin come from this one render: when the address
// changes meanwhile the router aborts these requests and drops the result, so a
// heading never stands over another city's twins.

import { h } from "../dom.js";
import { t, label, formatPartialDate, countryName } from "../i18n.js";
import { when } from "./home.js";

const STATUS_BADGE = { active: "ok", proposed: "neutral", negotiating: "neutral",
  suspended: "warn", ended: "danger" };


function statusBadge(status) {
  return h("span", { class: `badge ${STATUS_BADGE[status] || "neutral"}` },
    label("partnership_status", status));
}

/** The last exchange that ended, the next one not yet over, and hosts counted. */
function exchanges(events, city, twin) {
  const now = Date.now();
  const going = events.filter((e) => e.status !== "cancelled")
    .sort((a, b) => Date.parse(a.starts_at_utc) - Date.parse(b.starts_at_utc));
  const past = going.filter((e) => Date.parse(e.ends_at_utc) < now);
  const next = going.find((e) => Date.parse(e.ends_at_utc) >= now) || null;
  const hosted = [city, twin].map((c) => ({
    city: c, count: going.filter((e) => e.host_city_id === c.id).length,
  }));
  return { last: past.at(-1) || null, next, hosted, total: going.length };
}

function eventLine(event, timeZone) {
  if (!event) return h("span", { class: "muted" }, t("twinnings.none"));
  return [h("a", { href: `/console/events/${event.id}` }, event.title), " ",
    h("span", { class: "muted" }, when(event, timeZone))];
}

function hostedLine({ hosted, total }) {
  if (!total) return h("span", { class: "muted" }, t("twinnings.no_exchanges"));
  return hosted.map(({ city, count }, i) => [i ? ", " : "",
    t("twinnings.hosted", { city: city.name, count })]);
}

function historyList(partnership) {
  const history = partnership?.history || [];
  if (!history.length) return h("p", { class: "muted" }, t("twinnings.history_empty"));
  return h("ol", { class: "history" }, history.map((change) => h("li", {},
    change.from_status
      ? t("twinnings.history_change", {
        from: label("partnership_status", change.from_status),
        to: label("partnership_status", change.to_status),
      })
      : t("twinnings.history_first", { to: label("partnership_status", change.to_status) }),
    change.changed_on ? [": ", formatPartialDate(change.changed_on)] : null,
    change.note ? h("span", { class: "muted" }, ` (${change.note})`) : null)));
}

function twinCard(partner, partnership, events, city) {
  const twin = partner.city;
  const ex = exchanges(events, city, twin);
  const headingId = `twin-${partner.partnership_id}`;
  const since = formatPartialDate(partner.established_on);
  const facts = [
    since ? [h("dt", {}, t("twinnings.since")), h("dd", {}, since)] : null,
    h("dt", {}, t("twinnings.last")), h("dd", {}, eventLine(ex.last, city.timezone)),
    h("dt", {}, t("twinnings.next")), h("dd", {}, eventLine(ex.next, city.timezone)),
    h("dt", {}, t("twinnings.hosts")), h("dd", {}, hostedLine(ex)),
  ];
  const historyCount = partnership?.history?.length || 0;
  return h("li", { class: "card twin" },
    h("div", { class: "spread" },
      h("h2", { id: headingId },
        h("a", { href: `/console/cities/${twin.id}` }, twin.name),
        " ", h("span", { class: "muted country" }, countryName(twin.country_code))),
      statusBadge(partner.status)),
    h("dl", { class: "facts" }, facts),
    h("details", { class: "history-toggle" },
      h("summary", {}, t("twinnings.history", { count: historyCount })),
      historyList(partnership)),
    h("p", { class: "row twin-links" },
      h("a", { href: `/console/cities/${twin.id}/partners` },
        t("twinnings.twins_of", { city: twin.name })),
      partnership?.feed_url ? h("a", { href: partnership.feed_url },
        t("twinnings.feed", { a: city.name, b: twin.name })) : null));
}

export async function render(ctx) {
  const id = ctx.params.id;
  const [city, partners, partnerships] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.all(`/api/v1/cities/${id}/partners`),
    ctx.all("/api/v1/partnerships", { city_id: id }),
  ]);
  const byId = new Map(partnerships.items.map((p) => [p.id, p]));
  const events = await Promise.all(partners.items.map((partner) =>
    ctx.all("/api/v1/events", { partnership_id: partner.partnership_id }).then((r) => r.items)));
  const title = t("twinnings.title", { city: city.name });
  const body = h("section", { class: "twinnings" },
    h("h1", {}, title),
    h("p", { class: "row" },
      h("span", {}, t("twinnings.count", { count: partners.total })),
      h("a", { href: `/console/cities/${city.id}` }, t("twinnings.city_page", { city: city.name })),
      h("a", { href: `/console/cities/${city.id}/calendar` }, t("twinnings.calendar"))),
    partners.items.length
      ? h("ul", { class: "twins" }, partners.items.map((partner, i) =>
        twinCard(partner, byId.get(partner.partnership_id), events[i], city)))
      : h("p", { class: "muted" }, t("twinnings.empty", { city: city.name })));
  body.dataset.cityId = String(city.id);
  return { title, body };
}
