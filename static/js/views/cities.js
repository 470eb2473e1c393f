// Cities: search by name (accents optional, the API ignores them), results update
// as one types, the query lives in the address (?q=). Each keystroke aborts the
// request of the one before, so a late answer never overwrites a newer list.

import * as api from "../api.js";
import { h, mount, announce } from "../dom.js";
import { t, countryName } from "../i18n.js";
import { problemBox } from "../problems.js";

const PAGE = 50;
const PAUSE_MS = 120;


function summary(page, q) {
  if (!page.total) return q ? t("cities.none_match", { q }) : t("cities.none");
  if (page.total > page.items.length) {
    return t("cities.shown_of", { shown: page.items.length, count: page.total });
  }
  return t("cities.count", { count: page.total });
}

function results(page) {
  if (!page.items.length) return null;
  return h("ul", { class: "plain city-results" }, page.items.map((city) => h("li", {},
    h("a", { href: `/console/cities/${city.id}`, class: "city-name" }, city.name),
    " ", h("span", { class: "muted" },
      [countryName(city.country_code), city.region].filter(Boolean).join(", ")),
    city.alternate_names?.length
      ? h("span", { class: "muted alt-names" }, ` · ${city.alternate_names.join(", ")}`) : null)));
}

export async function render(ctx) {
  const initial = (ctx.query.get("q") || "").trim().slice(0, 100);
  const first = await ctx.get("/api/v1/cities", { q: initial || null, limit: PAGE });

  const status = h("p", { class: "cities-summary", role: "status" }, summary(first, initial));
  const list = h("div", { class: "cities-list" }, results(first));
  const input = h("input", {
    id: "cities-q", name: "q", type: "search", value: initial, maxlength: 100,
    autocomplete: "off", spellcheck: "false", "aria-describedby": "cities-q-hint",
  });

  let pending = null; // the AbortController of the newest search
  const search = (q) => {
    pending?.abort();
    const controller = new AbortController();
    pending = controller;
    // The view's own signal ends every search when the person goes elsewhere.
    ctx.signal.addEventListener("abort", () => controller.abort(), { once: true });
    const { signal } = controller;
    setTimeout(async () => {
      if (signal.aborted) return;
      try {
        const page = await api.get("/api/v1/cities", { params: { q: q || null, limit: PAGE }, signal });
        if (signal.aborted || controller !== pending) return;
        mount(list, results(page));
        status.textContent = summary(page, q);
      } catch (error) {
        if (signal.aborted || error.name === "AbortError") return;
        mount(list, problemBox(error));
        status.textContent = "";
      }
    }, PAUSE_MS);
  };

  input.addEventListener("input", () => {
    const q = input.value.trim();
    if (!ctx.signal.aborted && location.pathname.replace(/\/+$/, "") === "/console/cities") {
      history.replaceState(null, "", `/console/cities${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    }
    search(q);
  });

  const form = h("form", { role: "search", class: "cities-search",
    onsubmit: (event) => {
      event.preventDefault();
      search(input.value.trim());
      announce(status.textContent);
    } },
  h("div", { class: "field" },
    h("label", { for: "cities-q" }, t("cities.search_label")),
    h("p", { class: "hint", id: "cities-q-hint" }, t("cities.search_hint")),
    input));

  const title = t("cities.title");
  const body = h("section", { class: "cities" }, h("h1", {}, title), form, status, list);
  return { title, body };
}
