// The negotiation of an exchange a twin proposed (app/events/proposals.py), on the
// event page: every move so far, and the moves open to the viewer's city: on its
// turn accept or counter-propose other dates; the host may decline and the
// proposer withdraw at any time while it is open.

import * as api from "../api.js";
import { h, field, formValues } from "../dom.js";
import { t, label, formatDateTime, formatDate, formatRange } from "../i18n.js";
import { showErrors, clearErrors } from "../problems.js";

/** The dates a step put on the table, in words. */
function stepDates(step, timeZone) {
  if (step.all_day && step.start_date) {
    const end = step.end_date || step.start_date;
    return end === step.start_date ? formatDate(step.start_date, { dateStyle: "long" })
      : formatRange(`${step.start_date}T12:00:00Z`, `${end}T12:00:00Z`, "UTC", { dateStyle: "long" });
  }
  if (step.starts_at && step.ends_at) {
    return formatRange(step.starts_at, step.ends_at, timeZone, { dateStyle: "long", timeStyle: "short" });
  }
  return "";
}

function stepItem(step, cityName, timeZone) {
  const dates = stepDates(step, timeZone);
  return h("li", { class: "negotiation-step" },
    h("p", {},
      h("strong", {}, t(`negotiation.action.${step.action}`, { city: cityName(step.city_id) })),
      " ", h("span", { class: "muted" }, formatDateTime(step.at, timeZone))),
    dates ? h("p", {}, dates) : null,
    step.message ? h("blockquote", {}, step.message) : null);
}

/** "2027-06-14T09:00:00+03:00" as a datetime-local value (wall clock in the event's zone). */
function wallClock(iso) { return iso ? iso.slice(0, 16) : ""; }

function counterForm(event) {
  const dates = event.all_day
    ? [field({ label: t("negotiation.start_date"), name: "start_date", type: "date", required: true,
      value: event.start_date }),
    field({ label: t("negotiation.end_date"), name: "end_date", type: "date",
      value: event.end_date || event.start_date })]
    : [field({ label: t("negotiation.starts_at"), name: "starts_at", type: "datetime-local",
      required: true, value: wallClock(event.starts_at) }),
    field({ label: t("negotiation.ends_at"), name: "ends_at", type: "datetime-local", required: true,
      value: wallClock(event.ends_at) })];
  return [...dates, field({ label: t("negotiation.message"), name: "message", type: "textarea",
    rows: 2, maxlength: 2000 })];
}

function counterBody(event, values) {
  const dates = event.all_day
    ? { all_day: true, start_date: values.start_date || null, end_date: values.end_date || null }
    : { starts_at: values.starts_at || null, ends_at: values.ends_at || null };
  return values.message ? { ...dates, message: values.message } : dates;
}

/** One move as a form: its fields, its button, and what it posts. */
function moveForm({ id, title, fields, button, tone = "primary", post, done, onDone, signal }) {
  const submit = h("button", { type: "submit", class: tone }, button);
  const form = h("form", { novalidate: true, "aria-labelledby": id, class: "negotiation-move" },
    h("h3", { id }, title), ...fields, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const [path, body] = post(formValues(form));
      await api.post(path, body, { signal });
      await onDone(done);
    } catch (error) {
      if (error.name === "AbortError") return;
      showErrors(form, error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The moves open to `city` (the viewer's city) in this negotiation. */
function moves(event, negotiation, city, onDone, signal) {
  const base = `/api/v1/events/${event.id}`;
  const forms = [];
  const common = { onDone, signal };
  if (negotiation.turn_city_id === city) {
    const hosting = city === negotiation.host_city_id;
    forms.push(moveForm({
      ...common, id: "negotiation-accept", title: t("negotiation.accept_title"),
      fields: [
        hosting ? field({ label: t("negotiation.becomes"), name: "status", type: "select",
          value: "draft", options: [["draft", label("event_status", "draft")],
            ["confirmed", label("event_status", "confirmed")]] }) : null,
        field({ label: t("negotiation.message"), name: "message", type: "textarea", rows: 2,
          maxlength: 2000 }),
      ].filter(Boolean),
      button: t("negotiation.accept"), done: t("negotiation.done_accept"),
      post: (v) => [`${base}/accept`, { ...(v.status ? { status: v.status } : {}),
        ...(v.message ? { message: v.message } : {}) }],
    }));
    forms.push(moveForm({
      ...common, id: "negotiation-counter", title: t("negotiation.counter_title"),
      fields: counterForm(event), button: t("negotiation.counter"), tone: "",
      done: t("negotiation.done_counter"), post: (v) => [`${base}/counter`, counterBody(event, v)],
    }));
  }
  const ending = city === negotiation.host_city_id ? "decline"
    : city === negotiation.proposer_city_id ? "withdraw" : null;
  if (ending) {
    forms.push(moveForm({
      ...common, id: `negotiation-${ending}`, title: t(`negotiation.${ending}_title`),
      fields: [field({ label: t("negotiation.reason"), name: "reason", type: "textarea", rows: 2,
        required: true, maxlength: 1000 })],
      button: t(`negotiation.${ending}`), tone: "danger", done: t(`negotiation.done_${ending}`),
      post: (v) => [`${base}/${ending}`, { reason: v.reason }],
    }));
  }
  return forms;
}

/**
 * The negotiation card of a proposed event, or null for any other event. `city` is
 * the viewer's city (a coordinator's); others read the moves without acting.
 * `refresh(message)` shows the page again after a move, saying what was done.
 */
export async function negotiationCard({ event, cities, city, get, signal, refresh }) {
  if (event.status !== "proposed") return null;
  let negotiation;
  try {
    negotiation = await get(`/api/v1/events/${event.id}/negotiation`);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return null; // not one of the two cities: the event page shows the rest
  }
  const cityName = (id) => cities.get(id)?.name || t("event.city_unknown", { id });
  const turn = negotiation.turn_city_id;
  const forms = city ? moves(event, negotiation, city, refresh, signal) : [];
  return h("section", { class: "card negotiation", "aria-labelledby": "event-negotiation" },
    h("h2", { id: "event-negotiation" }, t("negotiation.title")),
    h("p", {}, turn === city ? t("negotiation.your_turn")
      : t("negotiation.their_turn", { city: cityName(turn) })),
    h("ol", { class: "negotiation-steps" },
      negotiation.steps.map((step) => stepItem(step, cityName, event.timezone))),
    forms.length ? h("div", { class: "negotiation-moves" }, forms) : null);
}
