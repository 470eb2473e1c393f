// The console's frame: who is signed in, the header, and the router that gives
// every view an address. Views live in views/<name>.js and export
// `render(ctx)`, which resolves to { title, body } (see README.md, "The console").

import * as api from "./api.js";
import { h, mount, announce } from "./dom.js";
import {
  t, setLanguage, preferredLanguage, languages, languageName, currentLanguage,
} from "./i18n.js";
import { explain, problemBox } from "./problems.js";

const BASE = "/console";

// Path patterns, first match wins. `public` views need nobody signed in.
const ROUTES = [
  { path: "/", view: "home" },
  { path: "/sign-in", view: "signin", public: true },
  { path: "/cities", view: "cities" },
  { path: "/cities/:id", view: "city" },
  { path: "/cities/:id/calendar", view: "calendar" },
  { path: "/cities/:id/partners", view: "twinnings" },
  { path: "/cities/:id/twin-search", view: "twin-search" },
  { path: "/cities/:id/families", view: "families" },
  { path: "/cities/:id/webhooks", view: "webhooks" },
  { path: "/cities/:id/reminders", view: "reminders" },
  { path: "/cities/:id/team", view: "team" },
  { path: "/account", view: "account" },
  { path: "/events/new", view: "event-form" },
  { path: "/events/:id", view: "event" },
  { path: "/events/:id/edit", view: "event-form" },
  { path: "/events/:id/list", view: "delegation-list" },
  { path: "/events/:id/travel", view: "travel" },
  { path: "/events/:id/programme", view: "programme" },
  { path: "/events/:id/papers", view: "papers" },
  { path: "/events/:id/placement", view: "placement" },
];

function match(pathname) {
  const path = pathname.slice(BASE.length).replace(/\/+$/, "") || "/";
  for (const route of ROUTES) {
    const names = [];
    const pattern = route.path.replace(/:(\w+)/g, (_, name) => {
      names.push(name);
      return "([^/]+)";
    });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route, params };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Who is signed in
// ---------------------------------------------------------------------------

/**
 * `who`: the person (or key) the console acts as.
 *   { kind: "session" | "key", name, role, cityId, cityName, user,
 *     memberships: [{ id, role, city_id, cityName }], actingId }
 * null when nobody is signed in.
 */
export let who = null;
const cityNames = new Map();

async function cityName(id, signal) {
  if (!id) return null;
  if (!cityNames.has(id)) {
    const city = await api.get(`/api/v1/cities/${id}`, { signal });
    cityNames.set(id, city.name);
  }
  return cityNames.get(id);
}

async function fromSession(session) {
  api.setCsrfToken(session.csrf_token);
  const memberships = await Promise.all(session.memberships.map(async (m) => ({
    ...m, cityName: await cityName(m.city_id).catch(() => null),
  })));
  const acting = session.acting_as;
  return {
    kind: "session",
    name: session.user.display_name,
    user: session.user,
    role: acting?.role || null,
    cityId: acting?.city_id || null,
    cityName: acting ? await cityName(acting.city_id).catch(() => null) : null,
    memberships,
    actingId: acting?.id || null,
  };
}

async function loadWho() {
  if (api.usingApiKey()) {
    try {
      const key = await api.get("/api/v1/api-keys/me");
      return {
        kind: "key", name: key.name, role: key.role, cityId: key.city_id,
        cityName: await cityName(key.city_id).catch(() => null), memberships: [], actingId: null,
      };
    } catch (error) {
      api.setApiKey(null);
      if (!(error instanceof api.ApiError) || error.status !== 401) throw error;
    }
  }
  // Asked only when the session's hint cookie says someone may be signed in here:
  // an anonymous visit makes no request that must fail.
  if (!document.cookie.split("; ").includes("twinplan_signed_in=1")) return null;
  try {
    return await fromSession(await api.get("/api/v1/session"));
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) return null;
    throw error;
  }
}

/** After signing in (a session answer) or with an admin's key. */
export async function signedIn(session) {
  who = session ? await fromSession(session) : await loadWho();
  if (who?.user?.language && who.user.language !== currentLanguage()) {
    await setLanguage(who.user.language);
  }
  renderHeader();
  return who;
}

async function signOut() {
  try {
    if (who?.kind === "session") await api.del("/api/v1/session");
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.status !== 401) {
      announce(explain(error));
      return;
    }
  }
  api.setApiKey(null);
  api.setCsrfToken(null);
  who = null;
  renderHeader();
  navigate(`${BASE}/sign-in`);
  announce(t("signin.signed_out"));
}

async function actAs(membershipId) {
  try {
    const session = await api.put("/api/v1/session/acting", { membership_id: Number(membershipId) });
    who = await fromSession(session);
    renderHeader();
    announce(t("header.now_acting", { city: who.cityName || t("role.admin") }));
    navigate(`${BASE}/`);
  } catch (error) {
    announce(explain(error));
  }
}

async function chooseLanguage(code) {
  await setLanguage(code);
  if (who?.kind === "session" && who.user.language !== code) {
    // Remembered with the account (and used for its emails) where the API knows
    // the language; in this browser in any case.
    try {
      who.user = await api.patch("/api/v1/me", { language: code });
    } catch (error) {
      if (!(error instanceof api.ApiError) || error.status !== 422) announce(explain(error));
    }
  }
  renderHeader();
  render();
}

// ---------------------------------------------------------------------------
// The header
// ---------------------------------------------------------------------------

/** The city a signed-in coordinator or partner acts for (null for an admin). */
export function homeCity() { return who?.cityId || null; }

function renderHeader() {
  const header = document.getElementById("top");
  const city = homeCity();
  const links = who ? [
    [`${BASE}/`, t("nav.home")],
    city ? [`${BASE}/cities/${city}/calendar`, t("nav.calendar")] : null,
    city ? [`${BASE}/cities/${city}/partners`, t("nav.twinnings")] : null,
    who.role !== "partner" ? [`${BASE}/events/new`, t("nav.new_event")] : null,
    [`${BASE}/cities`, t("nav.cities")],
  ].filter(Boolean) : [];
  const languageSelect = h("select", {
    id: "language", "aria-label": t("header.language"),
    onchange: (event) => chooseLanguage(event.target.value),
  }, (available || ["en"]).map((code) =>
    h("option", { value: code, selected: code === currentLanguage(), lang: code }, languageName(code))));
  let person = null;
  if (who) {
    const switcher = who.memberships.length > 1
      ? h("select", {
        id: "acting", "aria-label": t("header.acting_for"),
        onchange: (event) => actAs(event.target.value),
      }, who.memberships.map((m) => h("option", { value: m.id, selected: m.id === who.actingId },
        m.cityName ? `${m.cityName} · ${t(`role.${m.role}`)}` : t(`role.${m.role}`))))
      : h("span", { class: "acting" },
        who.cityName ? `${who.cityName} · ${t(`role.${who.role}`)}` : t(`role.${who.role}`));
    person = h("div", { class: "person" },
      who.kind === "session"
        ? h("a", { class: "person-name", href: `${BASE}/account`, title: t("header.account") }, who.name)
        : h("span", { class: "person-name" }, who.name),
      switcher,
      h("button", { type: "button", class: "link", onclick: signOut }, t("header.sign_out")));
  }
  mount(header,
    h("a", { class: "brand", href: `${BASE}/` },
      h("img", { src: `${BASE}/favicon.svg`, alt: "", width: 24, height: 24 }), "Twinplan"),
    links.length ? h("nav", { "aria-label": t("nav.label") }, h("ul", {},
      links.map(([href, text]) => h("li", {}, h("a", {
        href, "aria-current": currentPath() === href ? "page" : null,
      }, text))))) : null,
    h("div", { class: "tools" }, languageSelect, person));
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

let available = null;
let controller = null;
let firstRender = true;
const views = new Map();

function currentPath() { return location.pathname.replace(/\/+$/, "") || BASE; }

/** Go to a console address (pushes history unless `replace`). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

async function loadView(name) {
  if (!views.has(name)) views.set(name, import(`./views/${name}.js`));
  return views.get(name);
}

/** Renders the view of the current address. A newer render aborts an older one:
 * its requests are cancelled and whatever it would have shown is dropped. */
export async function render() {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const main = document.getElementById("main");
  const found = match(location.pathname);
  if (!found) {
    show(main, t("notfound.title"), h("section", {}, h("h1", {}, t("notfound.title")),
      h("p", {}, h("a", { href: `${BASE}/` }, t("notfound.home")))));
    return;
  }
  const { route, params } = found;
  if (!who && !route.public) {
    const next = location.pathname + location.search;
    history.replaceState(null, "", `${BASE}/sign-in?next=${encodeURIComponent(next)}`);
    return render();
  }
  main.setAttribute("aria-busy", "true");
  const ctx = {
    params, signal, who, homeCity: homeCity(),
    query: new URLSearchParams(location.search),
    navigate, refresh: render, signedIn,
    get: (path, params) => api.get(path, { params, signal }),
    all: (path, params) => api.all(path, { params, signal }),
  };
  try {
    const view = await loadView(route.view);
    const { title, body } = await view.render(ctx);
    if (signal.aborted) return;
    show(main, title, body);
  } catch (error) {
    if (signal.aborted || error.name === "AbortError") return;
    if (error instanceof api.ApiError && error.status === 401 && !route.public) {
      who = null;
      renderHeader();
      return navigate(`${BASE}/sign-in?next=${encodeURIComponent(location.pathname)}`, { replace: true });
    }
    show(main, t("problem.title"), h("section", {}, h("h1", {}, t("problem.title")), problemBox(error)));
  } finally {
    if (!signal.aborted) main.removeAttribute("aria-busy");
  }
}

function show(main, title, body) {
  mount(main, body);
  document.title = `${title} · Twinplan`;
  renderHeader();
  if (!firstRender) {
    // Move focus to the new view's heading, as a page load would.
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
    announce(title);
  }
  firstRender = false;
}

// Links inside the console change the view without reloading the page.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const target = new URL(link.href, location.href);
  if (target.origin !== location.origin || !target.pathname.startsWith(`${BASE}/`)) return;
  if (/\.\w+$/.test(target.pathname)) return;
  event.preventDefault();
  if (target.pathname + target.search === location.pathname + location.search) return;
  navigate(target.pathname + target.search + target.hash);
});
window.addEventListener("popstate", () => render());

async function start() {
  available = await languages();
  await setLanguage(await preferredLanguage());
  try {
    await signedIn(null);
  } catch (error) {
    who = null;
  }
  renderHeader();
  await render();
}

start();
