// A city's search for a new twin (app.twins): where it looks, the model's
// suggestions there with their reasons in words, the cities taken up (shortlisted,
// contacted, declined, proposed as a twinning) and every step, so that the council
// sees how it went. `?search=ID` opens one search; without it, the newest.

import * as api from "../api.js";
import { h, mount, field, announce } from "../dom.js";
import { t, has, label, countryName, formatDateTime, formatNumber, currentLanguage } from "../i18n.js";
import { problemBox, onSubmit } from "../problems.js";

const FINAL = ["found", "abandoned"];
// What a search may become from each status (the API refuses the rest).
const NEXT = { open: ["paused", "found", "abandoned"], paused: ["open", "found", "abandoned"],
  found: ["open"], abandoned: ["open"] };

function countries(codes) {
  if (!codes.length) return t("twinsearch.anywhere");
  return new Intl.ListFormat(currentLanguage(), { type: "conjunction" })
    .format(codes.map(countryName));
}

/** "TM, az uz" -> ["TM", "AZ", "UZ"] */
function codesOf(text) {
  return text.split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
}

/**
 * A reason in the console's language. The API words each reason in English
 * (`text`) and gives its numbers and names (`params`); another language words it
 * from those, by its code, where it has the words (else the English stands).
 */
function reasonText(reason) {
  const p = { ...reason.params };
  for (const name of ["country", "other_country"]) if (p[name]) p[name] = countryName(p[name]);
  let key = `reason.${reason.code}`;
  if (reason.code === "country_pair" && reason.params.country === reason.params.other_country) {
    key = "reason.country_pair_same";
  }
  if (reason.code === "population" && Number(p.ratio) < 1.5) key = "reason.population_similar";
  return currentLanguage() !== "en" && has(key) ? t(key, p) : reason.text;
}

async function act(state, call, done) {
  mount(state.noticeSlot);
  try {
    await call();
    await load(state);
    announce(done);
  } catch (error) {
    mount(state.noticeSlot, problemBox(error));
    state.noticeSlot.scrollIntoView({ block: "nearest" });
  }
}

function suggestionCard(state, item) {
  const headingId = `suggestion-${item.city.id}`;
  const closed = FINAL.includes(state.search.status);
  return h("li", { class: "card suggestion", "aria-labelledby": headingId },
    h("div", { class: "spread" },
      h("h3", { id: headingId }, h("a", { href: `/console/cities/${item.city.id}` }, item.city.name),
        " ", h("span", { class: "muted" }, countryName(item.city.country_code))),
      h("span", { class: "badge neutral", title: t("twinsearch.score_hint") },
        t("twinsearch.score", { score: formatNumber(item.score, { maximumFractionDigits: 1 }) }))),
    h("ul", { class: "reasons" }, item.reasons.map((r) => h("li", {
      class: r.weight < 0 ? "reason-against" : "reason-for" },
    h("span", { class: "visually-hidden" }, r.weight < 0 ? t("twinsearch.against") : t("twinsearch.for")),
    reasonText(r)))),
    closed ? null : h("button", { type: "button",
      "aria-label": t("twinsearch.shortlist_named", { name: item.city.name }),
      onclick: () => act(state, () => api.post(`/api/v1/twin-searches/${state.search.id}/candidates`,
        { city_id: item.city.id }), t("twinsearch.shortlisted", { name: item.city.name })),
    }, t("twinsearch.shortlist")));
}

function candidateRow(state, c) {
  const base = `/api/v1/twin-searches/${state.search.id}/candidates/${c.city.id}`;
  const open = !FINAL.includes(state.search.status) && ["shortlisted", "contacted"].includes(c.state);
  const button = (text, name, call, done) => h("button", { type: "button", class: "small",
    "aria-label": `${text}: ${name}`, onclick: () => act(state, call, done) }, text);
  return h("tr", {},
    h("th", { scope: "row" }, h("a", { href: `/console/cities/${c.city.id}` }, c.city.name),
      h("span", { class: "home-city muted" }, countryName(c.city.country_code))),
    h("td", {}, h("span", { class: `badge ${c.state === "declined" ? "danger" : c.state === "proposed" ? "ok" : "neutral"}` },
      label("twinsearch.state", c.state)), c.note ? h("p", { class: "muted small" }, c.note) : null),
    h("td", { class: "row-actions" }, open ? h("div", { class: "row" },
      c.state === "shortlisted" ? button(t("twinsearch.contacted"), c.city.name,
        () => api.patch(base, { state: "contacted" }), t("twinsearch.marked", { name: c.city.name })) : null,
      button(t("twinsearch.declined"), c.city.name,
        () => api.patch(base, { state: "declined" }), t("twinsearch.marked", { name: c.city.name })),
      button(t("twinsearch.propose"), c.city.name,
        () => api.post(`${base}/propose`, {}), t("twinsearch.proposed", { name: c.city.name })))
      : null));
}

function historyList(search) {
  return h("ol", { class: "history" }, search.history.map((step) => h("li", {},
    h("time", { datetime: step.at }, formatDateTime(step.at)), " — ",
    t(`twinsearch.step.${step.what}`, { city: step.city?.name || "", from: label("twinsearch.status", step.from_state || ""),
      to: label("twinsearch.status", step.to_state || "") }),
    step.note ? h("span", { class: "muted" }, ` (${step.note})`) : null,
    h("span", { class: "muted" }, ` · ${step.actor}`))));
}

function statusControl(state) {
  const search = state.search;
  const select = h("select", { id: "search-status", name: "status" },
    h("option", { value: "" }, label("twinsearch.status", search.status)),
    NEXT[search.status].map((s) => h("option", { value: s }, label("twinsearch.status", s))));
  const form = h("form", { class: "row search-status" },
    h("label", { for: "search-status" }, t("twinsearch.status_label")), select,
    h("button", { type: "submit", class: "small" }, t("twinsearch.change")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!select.value) return;
    act(state, () => api.patch(`/api/v1/twin-searches/${search.id}`, { status: select.value }),
      t("twinsearch.status_changed"));
  });
  return form;
}

function newSearchForm(state) {
  const form = h("form", { "aria-labelledby": "search-new", novalidate: true },
    h("h2", { id: "search-new" }, t("twinsearch.new")),
    field({ label: t("twinsearch.countries"), name: "countries",
      value: state.city.seeking_twin_in.join(", "), hint: t("twinsearch.countries_hint") }),
    field({ label: t("twinsearch.notes"), name: "notes", type: "textarea", rows: 3 }),
    h("button", { type: "submit", class: "primary" }, t("twinsearch.start")));
  onSubmit(form, async (values) => {
    const search = await api.post(`/api/v1/cities/${state.city.id}/twin-searches`, {
      countries: codesOf(values.countries), notes: values.notes || null });
    state.searchId = search.id;
    history.replaceState(null, "", `?search=${search.id}`);
    await load(state);
    announce(t("twinsearch.started"));
  });
  return h("section", { class: "card" }, form);
}

async function load(state) {
  const searches = (await api.all(`/api/v1/cities/${state.city.id}/twin-searches`)).items;
  const chosen = searches.find((s) => s.id === state.searchId) || searches[searches.length - 1];
  if (!chosen) {
    mount(state.slot, h("p", {}, t("twinsearch.none")), newSearchForm(state));
    return;
  }
  const search = await api.get(`/api/v1/twin-searches/${chosen.id}`);
  state.search = search;
  let suggestions = null;
  try {
    suggestions = FINAL.includes(search.status) ? null
      : await api.get(`/api/v1/twin-searches/${search.id}/suggestions`, { params: { limit: 10 } });
  } catch (error) {
    suggestions = error; // 503: no model yet; said in place of the list
  }
  const others = searches.filter((s) => s.id !== search.id);
  mount(state.slot,
    h("section", { class: "card", "aria-labelledby": "search-facts" },
      h("h2", { id: "search-facts" }, t("twinsearch.search", { countries: countries(search.countries) })),
      h("p", {}, h("span", { class: `badge ${search.status === "open" ? "ok" : "neutral"}` },
        label("twinsearch.status", search.status)), " ",
      t("twinsearch.opened", { when: formatDateTime(search.created_at), who: search.created_by })),
      search.notes ? h("p", { class: "city-notes" }, search.notes) : null,
      statusControl(state),
      others.length ? h("p", { class: "muted small" }, t("twinsearch.others"), " ",
        others.map((s, i) => [i ? ", " : "", h("a", { href: `?search=${s.id}` },
          `${countries(s.countries)} (${label("twinsearch.status", s.status)})`)])) : null),
    h("section", { "aria-labelledby": "search-taken" },
      h("h2", { id: "search-taken" }, t("twinsearch.taken_up")),
      search.candidates.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("twinsearch.col.city")),
          h("th", { scope: "col" }, t("twinsearch.col.state")),
          h("th", { scope: "col" }, t("event.col.actions")))),
        h("tbody", {}, search.candidates.map((c) => candidateRow(state, c)))))
        : h("p", { class: "muted" }, t("twinsearch.none_taken"))),
    suggestions === null ? null : h("section", { "aria-labelledby": "search-suggestions" },
      h("h2", { id: "search-suggestions" }, t("twinsearch.suggestions")),
      suggestions instanceof Error ? problemBox(suggestions)
        : suggestions.items.length
          ? h("ol", { class: "suggestions" }, suggestions.items.map((item) => suggestionCard(state, item)))
          : h("p", { class: "muted" }, t("twinsearch.no_suggestions"))),
    h("section", { class: "card", "aria-labelledby": "search-history" },
      h("h2", { id: "search-history" }, t("twinsearch.history")), historyList(search)),
    h("details", { class: "card" }, h("summary", {}, t("twinsearch.new")), newSearchForm(state)));
}

export async function render(ctx) {
  const city = await ctx.get(`/api/v1/cities/${encodeURIComponent(ctx.params.id)}`);
  const state = { city, searchId: Number(ctx.query.get("search")) || null, search: null,
    slot: h("div", {}), noticeSlot: h("div", { class: "search-notice" }) };
  await load(state);
  const body = h("article", { class: "twin-search" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/cities/${city.id}` }, t("city.back", { city: city.name }))),
    h("h1", {}, t("twinsearch.title", { city: city.name })),
    state.noticeSlot, state.slot);
  return { title: t("twinsearch.title", { city: city.name }), body };
}
