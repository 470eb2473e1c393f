// One city: its facts in words (country, region, time zone, population, where it
// seeks a twin), its twins, and links to its calendar and twinnings. The name and
// the twins come from this one render (the router drops a superseded one).

import { h } from "../dom.js";
import { t, label, formatNumber, currentLanguage, countryName, zoneName } from "../i18n.js";


/** "Europe/Volgograd" with its long name now ("Volgograd Standard Time"). */
function zoneWords(timeZone) {
  const name = zoneName(timeZone);
  return name !== timeZone ? `${name} (${timeZone})` : timeZone;
}

function fact(name, value) {
  return [h("dt", {}, name), h("dd", {}, value)];
}

export async function render(ctx) {
  const id = ctx.params.id;
  const [city, partners] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.all(`/api/v1/cities/${id}/partners`),
  ]);
  const unknown = h("span", { class: "muted" }, t("city.unknown"));
  const seeking = city.seeking_twin_in.map(countryName);
  const title = city.name;
  const body = h("section", { class: "city" },
    h("h1", {}, title),
    h("p", { class: "row" },
      h("a", { href: `/console/cities/${city.id}/calendar`, class: "button" }, t("city.calendar")),
      h("a", { href: `/console/cities/${city.id}/partners`, class: "button" }, t("city.twinnings")),
      // The search is the city's coordinators' (and admins') business.
      ctx.who?.role === "admin" || (ctx.who?.role === "coordinator" && ctx.homeCity === city.id)
        ? [h("a", { href: `/console/cities/${city.id}/twin-search`, class: "button" }, t("city.twin_search")),
          h("a", { href: `/console/cities/${city.id}/families`, class: "button" }, t("city.families")),
          h("a", { href: `/console/cities/${city.id}/webhooks`, class: "button" }, t("city.webhooks")),
          h("a", { href: `/console/cities/${city.id}/reminders`, class: "button" }, t("city.reminders")),
          h("a", { href: `/console/cities/${city.id}/team`, class: "button" }, t("city.team"))]
        : null),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "city-facts" },
        h("h2", { id: "city-facts" }, t("city.facts")),
        h("dl", { class: "facts" },
          fact(t("city.country"), countryName(city.country_code)),
          fact(t("city.region"), city.region || unknown.cloneNode(true)),
          fact(t("city.timezone"), zoneWords(city.timezone)),
          fact(t("city.population"), city.population != null
            ? formatNumber(city.population) : unknown.cloneNode(true)),
          fact(t("city.seeking"), seeking.length
            ? new Intl.ListFormat(currentLanguage(), { type: "conjunction" }).format(seeking)
            : h("span", { class: "muted" }, t("city.seeking_none"))),
          city.alternate_names.length
            ? fact(t("city.also_called"), city.alternate_names.join(", ")) : null),
        city.notes ? h("p", { class: "city-notes" }, city.notes) : null),
      h("section", { class: "card", "aria-labelledby": "city-twins" },
        h("h2", { id: "city-twins" }, t("city.twins", { count: partners.total })),
        partners.items.length
          ? h("ul", { class: "plain city-twins" }, partners.items.map((p) => h("li", { class: "spread" },
            h("span", {}, h("a", { href: `/console/cities/${p.city.id}` }, p.city.name), " ",
              h("span", { class: "muted" }, countryName(p.city.country_code))),
            h("span", { class: `badge ${p.status === "active" ? "ok" : "neutral"}` },
              label("partnership_status", p.status)))))
          : h("p", { class: "muted" }, t("city.no_twins")))));
  body.dataset.cityId = String(city.id);
  return { title, body };
}
