// An event's programme (GET /api/v1/events/{id}/programme): its items day by day,
// in the event's local time, with whom each is for. The host's coordinators (and
// admins) add items and remove them; the people an item concerns are emailed by
// the server (app.reminders.participant_messages), not here.

import * as api from "../api.js";
import { h, mount, field, formValues, announce } from "../dom.js";
import { t, label, formatDate, formatRange, zoneName } from "../i18n.js";
import { explain, showErrors, clearErrors } from "../problems.js";
import { eventWhen, runsEvent } from "./event.js";
import { ROLES } from "../enums.js";


function audienceOf(item) {
  if (item.audience === "role") return label("reg_role", item.role);
  if (item.audience === "people") {
    return item.people ? item.people.map((p) => p.full_name).join(", ")
      : t("programme.named_people");
  }
  return t("programme.everyone");
}

function itemRow(state, item) {
  const remove = state.runs ? h("div", { class: "row" }, h("button", {
    type: "button", class: "small",
    "aria-label": t("programme.change_named", { title: item.title }),
    onclick: () => editItem(state, item),
  }, t("programme.change_short")), h("button", {
    type: "button", class: "small",
    "aria-label": t("programme.remove_named", { title: item.title }),
    onclick: () => removeItem(state, item),
  }, t("programme.remove"))) : null;
  return h("li", { class: "programme-item", id: `item-${item.id}` },
    h("p", { class: "programme-time" }, formatRange(item.starts_at, item.ends_at, item.timezone,
      item.starts_at.slice(0, 10) === item.ends_at.slice(0, 10) ? { timeStyle: "short" }
        : { dateStyle: "medium", timeStyle: "short" })),
    h("div", {},
      h("h3", {}, item.title),
      h("p", { class: "muted" }, [item.place, audienceOf(item)].filter(Boolean).join(" · "),
        item.public ? [" · ", t("programme.public")] : null),
      item.notes ? h("p", { class: "programme-notes" }, item.notes) : null),
    remove);
}

/** Items by local day ("2027-06-14"), in time order as the API gives them. */
function byDay(items) {
  const days = new Map();
  for (const item of items) {
    const day = item.starts_at.slice(0, 10);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(item);
  }
  return days;
}

function itemsList(state) {
  if (!state.items.length) return h("p", { class: "muted" }, t("programme.empty"));
  return [...byDay(state.items).entries()].map(([day, items]) => h("section", {
    class: "programme-day", "aria-labelledby": `day-${day}` },
  h("h2", { id: `day-${day}` }, formatDate(day, { dateStyle: "full" })),
  h("ul", { class: "programme-items" }, items.map((item) => itemRow(state, item)))));
}

async function reload(state) {
  const page = await api.all(`/api/v1/events/${state.event.id}/programme`);
  state.items = page.items;
  mount(state.listSlot, itemsList(state));
}

async function removeItem(state, item) {
  if (!window.confirm(t("programme.remove_confirm", { title: item.title }))) return;
  try {
    await api.del(`/api/v1/programme-items/${item.id}`);
    await reload(state);
    announce(t("programme.removed", { title: item.title }));
  } catch (error) {
    mount(state.noticeSlot, h("p", { class: "problem", role: "alert" }, explain(error)));
  }
}

/**
 * The form that adds an item, or, given `item` (read with its ETag), changes it:
 * sent with If-Match, so an edit made meanwhile by someone else is not lost (412).
 */
function itemForm(state, item = null) {
  const event = state.event;
  const first = (event.all_day ? event.start_date : event.starts_at).slice(0, 10);
  const audience = !item ? "everyone" : item.audience === "role" ? `role:${item.role}` : item.audience;
  const options = [["everyone", t("programme.everyone")],
    ...ROLES.map((role) => [`role:${role}`, label("reg_role", role)])];
  // Named people are chosen through the API; the form keeps them as they are.
  if (item?.audience === "people") options.push(["people", t("programme.named_people")]);
  const headingId = item ? "programme-edit" : "programme-add";
  const form = h("form", { class: "programme-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, item ? t("programme.change", { title: item.title }) : t("programme.add")),
    field({ label: t("programme.item_title"), name: "title", required: true, maxlength: 200,
      value: item?.title }),
    h("div", { class: "row" },
      field({ label: t("programme.starts"), name: "starts_at", type: "datetime-local",
        value: item ? item.starts_at.slice(0, 16) : `${first}T10:00`, required: true }),
      field({ label: t("programme.ends"), name: "ends_at", type: "datetime-local",
        value: item ? item.ends_at.slice(0, 16) : `${first}T11:00`, required: true })),
    field({ label: t("programme.place"), name: "place", maxlength: 200, value: item?.place }),
    field({ label: t("programme.for"), name: "audience", type: "select", value: audience, options }),
    field({ label: t("programme.public_label"), name: "public", type: "checkbox",
      value: item?.public || false, hint: t("programme.public_hint") }),
    h("p", { class: "muted small" }, t("programme.in_zone", {
      zone: zoneName(event.timezone, new Date(event.starts_at || `${first}T12:00:00Z`)) })),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" },
        item ? t("programme.change_button") : t("programme.add_button")),
      item ? h("button", { type: "button", onclick: () => mount(state.formSlot, itemForm(state)) },
        t("travel.change_cancel")) : null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const [kind, role] = values.audience.split(":");
    const body = { title: values.title, starts_at: values.starts_at, ends_at: values.ends_at,
      place: values.place || null, public: values.public };
    if (kind !== "people") body.audience = kind;
    if (role) body.role = role;
    try {
      const saved = item
        ? await api.patch(`/api/v1/programme-items/${item.id}`, body, { ifMatch: item.etag })
        : await api.post(`/api/v1/events/${event.id}/programme`, body);
      await reload(state);
      mount(state.formSlot, itemForm(state));
      announce(t(item ? "programme.changed" : "programme.added", { title: saved.title }));
      document.getElementById(`item-${saved.id}`)?.scrollIntoView({ block: "nearest" });
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h("section", { class: "card" }, form);
}

async function editItem(state, item) {
  try {
    const fresh = await api.get(`/api/v1/programme-items/${item.id}`);
    mount(state.formSlot, itemForm(state, fresh));
    state.formSlot.querySelector("input")?.focus();
  } catch (error) {
    mount(state.noticeSlot, h("p", { class: "problem", role: "alert" }, explain(error)));
  }
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [event, page] = await Promise.all([
    ctx.get(`/api/v1/events/${id}`),
    ctx.all(`/api/v1/events/${id}/programme`),
  ]);
  const state = { event, items: page.items, runs: runsEvent(ctx, event) && event.status !== "cancelled",
    listSlot: h("div", {}), noticeSlot: h("div", {}), formSlot: h("div", {}) };
  mount(state.listSlot, itemsList(state));
  if (state.runs) mount(state.formSlot, itemForm(state));
  const body = h("article", { class: "programme" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back")),
      h("button", { type: "button", onclick: () => window.print() }, t("delegation.print"))),
    h("h1", {}, t("programme.title", { title: event.title })),
    h("p", { class: "muted" }, eventWhen(event), event.venue ? ` · ${event.venue}` : ""),
    state.noticeSlot,
    state.listSlot,
    state.formSlot);
  return { title: t("programme.title", { title: event.title }), body };
}
