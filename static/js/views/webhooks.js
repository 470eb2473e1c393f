// A city's webhook endpoints (app.notifications.webhooks): where its partner
// systems hear of changes as they happen, signed per Standard Webhooks. Its
// coordinators (and admins) register an endpoint for some topics (the signing
// secret is shown once), rotate the secret, switch an endpoint off and on, remove
// it, and read its recent deliveries, a failed one sent again.

import * as api from "../api.js";
import { h, mount, field, announce, noticeSlot, sayAfterRefresh } from "../dom.js";
import { t, label, formatDateTime } from "../i18n.js";
import { problemBox, onSubmit } from "../problems.js";

const TOPICS = ["event.created", "event.updated", "event.cancelled", "event.proposal",
  "registration.changed", "reminder.due"];

function topicName(topic) { return label("webhooks.topic", topic.replace(".", "_")); }

/** The secret, once: a notice with the value to copy. */
function secretNotice(endpoint) {
  return h("div", { class: "notice", role: "status" },
    h("p", {}, t("webhooks.secret_once", { url: endpoint.url })),
    h("p", {}, h("code", { class: "secret" }, endpoint.secret)));
}

async function act(state, call, done) {
  mount(state.noticeSlot);
  try {
    const result = await call();
    sayAfterRefresh(result?.secret ? secretNotice(result) : done);
    await state.ctx.refresh();
    if (result?.secret) announce(done);
  } catch (error) {
    mount(state.noticeSlot, problemBox(error));
    state.noticeSlot.scrollIntoView({ block: "nearest" });
  }
}

function deliveriesList(state, endpoint, page) {
  if (!page.items.length) return h("p", { class: "muted" }, t("webhooks.no_deliveries"));
  return h("ul", { class: "deliveries" }, page.items.map((n) => h("li", {},
    h("span", { class: `badge ${n.status === "delivered" ? "ok" : n.status === "dead" ? "danger" : "neutral"}` },
      label("webhooks.status", n.status)), " ",
    topicName(n.topic), " · ", formatDateTime(n.created_at),
    n.attempts ? ` · ${t("webhooks.attempts", { count: n.attempts })}` : "",
    n.last_error ? h("span", { class: "muted" }, ` · ${n.last_error}`) : null,
    n.status === "dead" ? [" ", h("button", { type: "button", class: "small",
      onclick: () => act(state, () => api.post(
        `/api/v1/webhook-endpoints/${endpoint.id}/deliveries/${n.id}/redeliver`),
      t("webhooks.redelivered")) }, t("webhooks.redeliver"))] : null)));
}

function endpointCard(state, endpoint, deliveries) {
  const headingId = `endpoint-${endpoint.id}`;
  const base = `/api/v1/webhook-endpoints/${endpoint.id}`;
  const button = (text, call, done, danger) => h("button", { type: "button", class: "small",
    "aria-label": `${text}: ${endpoint.url}`, onclick: () => {
      if (danger && !window.confirm(t("webhooks.remove_confirm", { url: endpoint.url }))) return;
      act(state, call, done);
    } }, text);
  return h("li", { class: "card endpoint", "aria-labelledby": headingId },
    h("div", { class: "spread" },
      h("h3", { id: headingId }, h("code", {}, endpoint.url)),
      h("span", { class: `badge ${endpoint.enabled ? "ok" : "warn"}` },
        t(endpoint.enabled ? "webhooks.on" : "webhooks.off"))),
    endpoint.description ? h("p", {}, endpoint.description) : null,
    h("p", { class: "muted" }, TOPICS.filter((topic) => endpoint.event_types.includes(topic))
      .map(topicName).join(", ")),
    !endpoint.enabled && endpoint.disabled_reason
      ? h("p", { class: "row-problem" }, endpoint.disabled_reason) : null,
    endpoint.previous_secret_expires_at ? h("p", { class: "muted small" },
      t("webhooks.two_secrets", { when: formatDateTime(endpoint.previous_secret_expires_at) })) : null,
    h("div", { class: "row" },
      button(t("webhooks.rotate"), () => api.post(`${base}/rotate-secret`), t("webhooks.rotated")),
      endpoint.enabled
        ? button(t("webhooks.turn_off"), () => api.patch(base, { enabled: false }), t("webhooks.turned_off"))
        : button(t("webhooks.turn_on"), () => api.patch(base, { enabled: true }), t("webhooks.turned_on")),
      button(t("webhooks.remove"), () => api.del(base), t("webhooks.removed"), true)),
    h("details", {}, h("summary", {}, t("webhooks.deliveries", { count: deliveries.total })),
      deliveriesList(state, endpoint, deliveries)));
}

function addForm(state) {
  const form = h("form", { "aria-labelledby": "endpoint-new", novalidate: true },
    h("h2", { id: "endpoint-new" }, t("webhooks.add")),
    field({ label: t("webhooks.url"), name: "url", type: "url", required: true,
      hint: t("webhooks.url_hint") }),
    h("fieldset", {}, h("legend", {}, t("webhooks.topics")),
      TOPICS.map((topic) => field({ label: topicName(topic), name: `topic:${topic}`,
        type: "checkbox", value: topic.startsWith("event.") }))),
    field({ label: t("webhooks.description"), name: "description", maxlength: 500 }),
    h("button", { type: "submit", class: "primary" }, t("webhooks.add_button")));
  onSubmit(form, async (v) => {
    const created = await api.post("/api/v1/webhook-endpoints", {
      city_id: state.city.id, url: v.url, description: v.description || null,
      event_types: TOPICS.filter((topic) => v[`topic:${topic}`]) });
    sayAfterRefresh(secretNotice(created));
    await state.ctx.refresh();
  });
  return h("section", { class: "card" }, form);
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [city, endpoints] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.all("/api/v1/webhook-endpoints", { city_id: id }),
  ]);
  const mine = endpoints.items.filter((e) => e.city_id === city.id);
  const deliveries = await Promise.all(mine.map((e) =>
    ctx.get(`/api/v1/webhook-endpoints/${e.id}/deliveries`, { limit: 10 })));
  const state = { ctx, city, noticeSlot: noticeSlot() };
  const body = h("article", { class: "webhooks" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/cities/${city.id}` }, t("city.back", { city: city.name }))),
    h("h1", {}, t("webhooks.title", { city: city.name })),
    h("p", { class: "muted" }, t("webhooks.intro")),
    state.noticeSlot,
    h("section", { "aria-labelledby": "endpoints" },
      h("h2", { id: "endpoints" }, t("webhooks.endpoints", { count: mine.length })),
      mine.length ? h("ul", { class: "endpoints" }, mine.map((e, i) => endpointCard(state, e, deliveries[i])))
        : h("p", {}, t("webhooks.none"))),
    addForm(state));
  return { title: t("webhooks.title", { city: city.name }), body };
}
