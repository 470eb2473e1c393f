// The travel board of an event (GET /api/v1/events/{id}/travel-board): who
// arrives where and when, who meets them, who leaves when and who sees them off,
// and who has no arrival or departure recorded yet. Times are local at each place,
// as the travellers' tickets give them; a group that misses part or all of the
// event as it is now (it moved since, say) is flagged. Print hides the frame.

import * as api from "../api.js";
import { h, mount, field, formValues, noticeSlot, sayAfterRefresh } from "../dom.js";
import { t, label, formatDateTime, zoneName, currentLanguage } from "../i18n.js";
import { problemBox, showErrors, clearErrors } from "../problems.js";
import { eventWhen, loadCities, runsEvent } from "./event.js";
import { holders } from "./delegation-list.js";

const MODES = ["plane", "train", "bus", "car", "ship", "other"];

/** "Turkish Airlines TK 123, Istanbul → Volgograd" */
function journeyLine(journey) {
  const service = [journey.carrier, journey.number].filter(Boolean).join(" ");
  return [label("travel.mode", journey.mode), service ? ` ${service}` : "",
    `, ${journey.from_place} → ${journey.to_place}`].join("");
}

function travellerNames(journey) {
  return journey.travellers.map((p) => p.full_name || t("event.person_unknown", { id: p.participant_id }))
    .join(", ");
}

function groupCard(state, group, cities, direction, n) {
  const headingId = `${direction}-${n}`;
  const at = new Date(group.at);
  const place = group.code ? `${group.place} (${group.code})` : group.place;
  const who = direction === "arrivals" ? "travel.met_by" : "travel.seen_off_by";
  return h("section", { class: "card travel-group", "aria-labelledby": headingId },
    h("h3", { id: headingId },
      h("time", { datetime: group.at }, formatDateTime(group.at, group.timezone)), " · ", place),
    h("p", { class: "muted small" }, t("travel.local_time", { zone: zoneName(group.timezone, at) })),
    group.timing !== "in_time"
      ? h("p", {}, h("span", { class: group.timing === "misses_all" ? "badge danger" : "badge warn" },
        t(`travel.${direction}.${group.timing}`))) : null,
    h("p", {}, h("strong", {}, t("travel.people", { count: group.count })), " · ",
      group.nobody_meets
        ? h("span", { class: "badge warn" }, t(direction === "arrivals" ? "travel.nobody_meets" : "travel.nobody_sees_off"))
        : t(who, { names: group.met_by.join("; ") })),
    h("ul", { class: "travel-journeys" }, group.journeys.map((journey) => h("li", {},
      h("span", { class: "travel-city" }, cities.get(journey.city_id)?.name || ""), " — ",
      journeyLine(journey), ": ", travellerNames(journey),
      state.writable.includes(journey.city_id) ? [" ", h("button", {
        type: "button", class: "small",
        "aria-label": t("travel.change_named", { what: journeyLine(journey) }),
        onclick: () => editJourney(state, journey.id),
      }, t("travel.change_short")), " ", h("button", {
        type: "button", class: "small",
        "aria-label": t("travel.delete_named", { what: journeyLine(journey) }),
        onclick: () => deleteJourney(state, journey),
      }, t("travel.delete"))] : null))));
}

async function deleteJourney(state, journey) {
  if (!window.confirm(t("travel.delete_confirm", { what: journeyLine(journey) }))) return;
  try {
    await api.del(`/api/v1/journeys/${journey.id}`);
    sayAfterRefresh(t("travel.deleted"));
    await state.ctx.refresh();
  } catch (error) {
    mount(state.noticeSlot, problemBox(error));
  }
}

/**
 * The form that records a journey (one city's people, one way, one leg), or, given
 * `journey`, changes it: its way and city stay, the rest is sent whole (PATCH;
 * `traveller_ids` replaces the list).
 */
function journeyForm(state, journey = null) {
  const { event, cities } = state;
  const travellersSlot = h("fieldset", { class: "travel-people" });
  const cityOptions = state.writable.map((id) => [String(id), cities.get(id)?.name || String(id)]);
  const j = journey || {};
  const going = new Set((j.travellers || []).filter((p) => p.going).map((p) => p.participant_id));
  const headingId = journey ? "journey-edit" : "journey-new";
  const form = h("form", { class: "journey-form", "aria-labelledby": headingId, novalidate: true },
    h("h2", { id: headingId }, journey ? t("travel.change", { what: journeyLine(journey) }) : t("travel.record")),
    h("div", { class: "row" },
      journey ? null : field({ label: t("travel.direction_label"), name: "direction", type: "select",
        value: "arrival", options: [["arrival", label("travel.direction", "arrival")],
          ["departure", label("travel.direction", "departure")]] }),
      field({ label: t("travel.mode_label"), name: "mode", type: "select", value: j.mode || "plane",
        options: MODES.map((m) => [m, label("travel.mode", m)]) }),
      !journey && cityOptions.length > 1 ? field({ label: t("event.col.city"), name: "city",
        type: "select", value: cityOptions[0][0], options: cityOptions }) : null),
    h("div", { class: "row" },
      field({ label: t("travel.carrier"), name: "carrier", maxlength: 100, value: j.carrier }),
      field({ label: t("travel.number"), name: "number", maxlength: 20, value: j.number })),
    h("div", { class: "row" },
      field({ label: t("travel.from"), name: "from_place", required: true, maxlength: 200,
        value: j.from_place }),
      field({ label: t("travel.from_code"), name: "from_code", maxlength: 3, size: 4,
        value: j.from_code, hint: t("travel.code_hint") })),
    h("div", { class: "row" },
      field({ label: t("travel.to"), name: "to_place", required: true, maxlength: 200,
        value: j.to_place }),
      field({ label: t("travel.to_code"), name: "to_code", maxlength: 3, size: 4,
        value: j.to_code, hint: t("travel.code_hint") })),
    h("div", { class: "row" },
      // The local wall-clock time, as the ticket says ("2027-06-13T14:30").
      field({ label: t("travel.at"), name: "at", type: "datetime-local", required: true,
        value: j.at ? j.at.slice(0, 16) : "", hint: t("travel.at_hint") }),
      field({ label: t("travel.timezone"), name: "timezone", value: j.timezone || event.timezone,
        maxlength: 60, hint: t("travel.timezone_hint") })),
    field({ label: t("travel.met_by_label"), name: "met_by", maxlength: 300, value: j.met_by,
      hint: t("travel.met_by_hint") }),
    travellersSlot,
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" },
        journey ? t("travel.change_button") : t("travel.record_button")),
      journey ? h("button", { type: "button", onclick: () => state.ctx.refresh() },
        t("travel.change_cancel")) : null));
  const paintPeople = () => {
    const city = journey ? journey.city_id : Number(form.elements.city?.value || state.writable[0]);
    const mine = state.holding.filter((r) => state.found.get(r.participant_id)?.home_city_id === city);
    mount(travellersSlot, h("legend", {}, t("travel.travellers")),
      mine.length ? mine.map((r) => {
        const person = state.found.get(r.participant_id);
        const id = `${headingId}-traveller-${r.participant_id}`;
        return h("div", { class: "field-check" },
          h("input", { type: "checkbox", id, name: "traveller", value: String(r.participant_id),
            checked: going.has(r.participant_id) }),
          h("label", { for: id }, person?.full_name || t("event.person_unknown", { id: r.participant_id })));
      }) : h("p", { class: "muted" }, t("travel.nobody_to_put")));
  };
  form.elements.city?.addEventListener("change", paintPeople);
  paintPeople();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const ids = [...form.querySelectorAll("input[name=traveller]:checked")].map((c) => Number(c.value));
    const body = { mode: values.mode, from_place: values.from_place,
      to_place: values.to_place, at: values.at, timezone: values.timezone || null,
      carrier: values.carrier || null, number: values.number || null,
      from_code: values.from_code || null, to_code: values.to_code || null,
      met_by: values.met_by || null, traveller_ids: ids };
    try {
      if (journey) {
        await api.patch(`/api/v1/journeys/${journey.id}`, body);
        sayAfterRefresh(t("travel.changed"));
      } else {
        await api.post(`/api/v1/events/${event.id}/journeys`, { direction: values.direction, ...body });
        sayAfterRefresh(t("travel.recorded"));
      }
      await state.ctx.refresh();
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h("section", { class: "card" }, form);
}

/** Puts the journey's own form where the new journey's is, filled in. */
async function editJourney(state, id) {
  try {
    const journey = await api.get(`/api/v1/journeys/${id}`);
    mount(state.formSlot, journeyForm(state, journey));
    state.formSlot.querySelector("input, select")?.focus();
    state.formSlot.scrollIntoView({ block: "start" });
  } catch (error) {
    mount(state.noticeSlot, problemBox(error));
  }
}

function groupsSection(state, groups, cities, direction) {
  const headingId = `travel-${direction}`;
  return h("section", { class: "travel-direction", "aria-labelledby": headingId },
    h("h2", { id: headingId }, t(`travel.${direction}`)),
    groups.length ? groups.map((g, i) => groupCard(state, g, cities, direction, i + 1))
      : h("p", { class: "muted" }, t(`travel.no_${direction}`)));
}

function missingSection(board, cities) {
  const rows = board.missing;
  return h("section", { class: "card", "aria-labelledby": "travel-missing" },
    h("h2", { id: "travel-missing" }, t("travel.missing"),
      " ", h("span", { class: "muted" }, t("travel.people", { count: rows.length }))),
    rows.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("event.col.name")),
        h("th", { scope: "col" }, t("event.col.role")),
        h("th", { scope: "col" }, t("travel.col.missing")))),
      // The home city under the name: three columns fit a phone.
      h("tbody", {}, rows.map((m) => h("tr", {},
        h("th", { scope: "row" }, m.full_name || t("event.person_unknown", { id: m.participant_id }),
          h("span", { class: "home-city muted" }, cities.get(m.home_city_id)?.name || "")),
        h("td", {}, label("reg_role", m.role)),
        h("td", {}, m.missing.map((d) => label("travel.direction", d)).join(", "),
          m.late ? [" ", h("span", { class: "badge danger" }, t("travel.late", { count: board.days }))] : null))))))
      : h("p", {}, t("travel.nobody_missing")));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [event, board] = await Promise.all([
    ctx.get(`/api/v1/events/${id}`),
    ctx.get(`/api/v1/events/${id}/travel-board`),
  ]);
  const journeys = [...board.arrivals, ...board.departures].flatMap((g) => g.journeys);
  const cities = await loadCities(ctx.get, [
    event.host_city_id, ...event.guest_city_ids, ...journeys.map((j) => j.city_id),
    ...board.missing.map((m) => m.home_city_id)]);
  const empty = board.journeys_without_travellers;
  // The cities whose journeys the caller records: every city of the event for the
  // host's side, its own for a guest city (the API decides; this only offers).
  const eventCities = [event.host_city_id, ...event.guest_city_ids];
  const writable = event.status === "cancelled" ? []
    : runsEvent(ctx, event) ? event.guest_city_ids.concat(event.host_city_id)
      : ctx.who?.role === "coordinator" && eventCities.includes(ctx.homeCity) ? [ctx.homeCity] : [];
  const state = { ctx, event, cities, writable, holding: [], found: new Map(),
    noticeSlot: noticeSlot(), formSlot: h("div", {}) };
  if (writable.length) {
    // Who may be put on a journey: people holding a place (the API refuses the rest).
    ({ regs: state.holding, people: state.found } = await holders(ctx, id));
    const collator = new Intl.Collator(currentLanguage(), { sensitivity: "base" });
    state.holding.sort((a, b) => collator.compare(state.found.get(a.participant_id)?.full_name || "",
      state.found.get(b.participant_id)?.full_name || ""));
  }
  if (writable.length) mount(state.formSlot, journeyForm(state));
  const body = h("article", { class: "travel-board" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back")),
      h("a", { class: "button", href: `/api/v1/events/${event.id}/travel-board.csv`, download: "" },
        t("travel.csv")),
      h("button", { type: "button", class: "primary", onclick: () => window.print() },
        t("delegation.print"))),
    h("h1", {}, t("travel.title", { title: event.title })),
    h("p", { class: "muted" }, eventWhen(event), event.venue ? ` · ${event.venue}` : ""),
    event.status === "cancelled" ? h("p", { class: "problem" }, t("delegation.event_cancelled")) : null,
    state.noticeSlot,
    missingSection(board, cities),
    groupsSection(state, board.arrivals, cities, "arrivals"),
    groupsSection(state, board.departures, cities, "departures"),
    empty.length ? h("p", { class: "muted" }, t("travel.empty_journeys",
      { count: empty.length, ids: empty.map((j) => `#${j}`).join(", ") })) : null,
    state.formSlot);
  return { title: t("travel.title", { title: event.title }), body };
}
