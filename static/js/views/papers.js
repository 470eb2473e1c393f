// An event's papers (app.documents): the delegation list for border control and
// insurers (PDF, CSV), and for each person holding a place the visa invitation
// letter and, for a minor, the guardian's consent form (PDF), as the API gives
// them to this caller: the host's side every guest, a guest city its own people.
// Every download is recorded in the data audit by the server.

import { h } from "../dom.js";
import { t, label, currentLanguage } from "../i18n.js";
import { eventWhen, loadCities } from "./event.js";
import { holders } from "./delegation-list.js";


function pdf(href, text, name) {
  return h("a", { href, download: "", "aria-label": `${text}: ${name}` }, text);
}

function personRow(event, row, cities) {
  const { reg, person } = row;
  const name = person?.full_name || t("event.person_unknown", { id: reg.participant_id });
  const base = `/api/v1/events/${event.id}/documents`;
  return h("tr", {},
    h("th", { scope: "row" }, name, h("span", { class: "home-city muted" },
      [cities.get(person?.home_city_id)?.name, label("reg_role", reg.role)].filter(Boolean).join(" · "))),
    // One column of links, stacked: it fits a phone.
    h("td", { class: "papers-links" },
      pdf(`${base}/invitations/${reg.participant_id}.pdf`, t("papers.invitation"), name),
      reg.is_minor
        ? pdf(`${base}/consent-forms/${reg.participant_id}.pdf`, t("papers.consent_form"), name)
        : h("span", { class: "muted" }, t("papers.adult"))));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  // Holding a place: whom the documents API serves papers for.
  const [event, { regs: holding, people: found }] = await Promise.all([
    ctx.get(`/api/v1/events/${id}`), holders(ctx, id)]);
  const host = event.host_city_id;
  const home = (reg) => found.get(reg.participant_id)?.home_city_id;
  // Papers are for the guests: the host's own people need no invitation to come.
  const guests = holding.filter((reg) => home(reg) !== host);
  const cities = await loadCities(ctx.get, [host, ...event.guest_city_ids, ...guests.map(home)]);
  const collator = new Intl.Collator(currentLanguage(), { sensitivity: "base" });
  const rows = guests.map((reg) => ({ reg, person: found.get(reg.participant_id) }))
    .sort((a, b) => collator.compare(a.person?.full_name || "", b.person?.full_name || ""));
  const list = `/api/v1/events/${event.id}/documents/delegation-list`;
  const body = h("article", { class: "papers" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back"))),
    h("h1", {}, t("papers.title", { title: event.title })),
    h("p", { class: "muted" }, eventWhen(event), event.venue ? ` · ${event.venue}` : ""),
    h("section", { class: "card", "aria-labelledby": "papers-list" },
      h("h2", { id: "papers-list" }, t("papers.delegation_list")),
      h("p", {}, t("papers.delegation_list_hint")),
      h("div", { class: "row" },
        h("a", { class: "button", href: `${list}.pdf`, download: "" }, t("papers.pdf")),
        h("a", { class: "button", href: `${list}.csv`, download: "" }, t("papers.csv")))),
    h("section", { class: "card", "aria-labelledby": "papers-people" },
      h("h2", { id: "papers-people" }, t("papers.people"), " ",
        h("span", { class: "muted" }, t("delegation.count", { count: rows.length }))),
      h("p", { class: "muted" }, t("papers.audited")),
      rows.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("event.col.name")),
          h("th", { scope: "col" }, t("papers.col.papers")))),
        h("tbody", {}, rows.map((row) => personRow(event, row, cities)))))
        : h("p", {}, t("papers.nobody"))));
  return { title: t("papers.title", { title: event.title }), body };
}
