// A city's reminders (app.reminders): when its World Twin Cities Day, upcoming
// event and twinning anniversary reminders go out and to whom beyond its
// coordinators (the city's rules, its coordinators and admins change them), and,
// for the person signed in, which kinds reach them (each may be stopped).

import * as api from "../api.js";
import { h, mount, field, announce } from "../dom.js";
import { t, zoneName } from "../i18n.js";
import { problemBox, onSubmit } from "../problems.js";

const LISTS = ["wtcd_days_before", "event_days_before", "anniversary_days_before"];
const KINDS = ["twin_cities_day", "event", "anniversary"];

/** "60, 30 7" -> [60, 30, 7]; anything else is left for the API to refuse. */
function daysOf(text) {
  return text.split(/[\s,;]+/).filter(Boolean).map((d) => (/^\d+$/.test(d) ? Number(d) : d));
}

function rulesForm(state) {
  const rules = state.rules;
  const form = h("form", { "aria-labelledby": "rules-title", novalidate: true },
    h("h2", { id: "rules-title" }, t("reminders.rules")),
    h("p", { class: "muted" }, t("reminders.rules_hint")),
    field({ label: t("reminders.hour"), name: "hour", type: "number", min: 0, max: 23,
      value: String(rules.hour), hint: t("reminders.hour_hint", { zone: zoneName(rules.timezone) }) }),
    LISTS.map((name) => field({ label: t(`reminders.${name}`), name, value: rules[name].join(", "),
      hint: t("reminders.days_hint") })),
    field({ label: t("reminders.emails"), name: "coordinator_emails", type: "textarea", rows: 2,
      value: rules.coordinator_emails.join(", "), hint: t("reminders.emails_hint") }),
    h("button", { type: "submit", class: "primary" }, t("reminders.save")));
  onSubmit(form, async (v) => {
    const body = { hour: v.hour === "" ? null : Number(v.hour),
      coordinator_emails: v.coordinator_emails.split(/[\s,;]+/).filter(Boolean) };
    for (const name of LISTS) body[name] = daysOf(v[name]);
    state.rules = await api.patch(`/api/v1/cities/${state.city.id}/reminder-rules`, body);
    mount(state.rulesSlot, rulesForm(state));
    mount(state.noticeSlot, h("p", { class: "notice", role: "status" }, t("reminders.saved")));
    announce(t("reminders.saved"));
  });
  return h("section", { class: "card" }, form);
}

function mineForm(state) {
  return h("section", { class: "card", "aria-labelledby": "mine-title" },
    h("h2", { id: "mine-title" }, t("reminders.mine")),
    h("p", { class: "muted" }, t("reminders.mine_hint")),
    KINDS.map((kind) => {
      const box = field({ label: t(`reminders.kind.${kind}`), name: kind, type: "checkbox",
        value: state.mine[kind] });
      box.querySelector("input").addEventListener("change", async (e) => {
        const enabled = e.target.checked;
        try {
          state.mine = await api.put(`/api/v1/me/reminders/${kind}`, { enabled });
          announce(t(enabled ? "reminders.resumed" : "reminders.stopped",
            { kind: t(`reminders.kind.${kind}`) }));
        } catch (error) {
          e.target.checked = !enabled;
          mount(state.noticeSlot, problemBox(error));
        }
      });
      return box;
    }));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [city, rules] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.get(`/api/v1/cities/${id}/reminder-rules`),
  ]);
  // A person chooses their own reminders; a machine's key has none (403).
  const mine = ctx.who?.kind === "session" ? await ctx.get("/api/v1/me/reminders") : null;
  const state = { city, rules, mine, rulesSlot: h("div", {}), noticeSlot: h("div", {}) };
  mount(state.rulesSlot, rulesForm(state));
  const body = h("article", { class: "reminders" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/cities/${city.id}` }, t("city.back", { city: city.name }))),
    h("h1", {}, t("reminders.title", { city: city.name })),
    state.noticeSlot, state.rulesSlot, mine ? mineForm(state) : null);
  return { title: t("reminders.title", { city: city.name }), body };
}
