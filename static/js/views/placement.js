// Where the guests of an exchange stay (GET /api/v1/events/{id}/placement): each
// host family with its guests and why each is there, the guests with no family,
// and every rule a placement breaks now. The host's coordinators propose a
// placement (the server's solver keeps every hard rule: places, allergies, pets,
// smoking, diets, siblings together), move a guest to another family (refused,
// with the reason, if it breaks a rule), confirm it, or open it again.

import * as api from "../api.js";
import { h, mount, field, formValues, announce } from "../dom.js";
import { t, label, currentLanguage, formatDateTime, spokenLanguages } from "../i18n.js";
import { problemBox, showErrors, clearErrors } from "../problems.js";
import { eventWhen, runsEvent } from "./event.js";
import { holders } from "./delegation-list.js";
import { ALLERGIES, DIETS } from "../enums.js";

/** The explanation in the console's language (the API words each in en and ru). */
function words(explanation) {
  return explanation[currentLanguage()] || explanation.en;
}

function guestItem(state, guest) {
  const move = state.runs && state.families.length > 1 ? moveControl(state, guest) : null;
  return h("li", { class: "placement-guest", id: `guest-${guest.participant_id}` },
    h("span", { class: "placement-name" }, guest.name),
    guest.is_minor ? [" ", h("span", { class: "badge neutral" }, t("placement.minor"))] : null,
    guest.pinned ? [" ", h("span", { class: "badge neutral" }, t("placement.pinned"))] : null,
    guest.explanations.length
      ? h("ul", { class: "placement-why muted" }, guest.explanations.map((e) => h("li", {}, words(e))))
      : null,
    guest.problems.map((p) => h("p", { class: "row-problem" }, p)),
    move);
}

function moveControl(state, guest) {
  const id = `move-${guest.participant_id}`;
  const select = h("select", { id, name: "family_id" },
    h("option", { value: "" }, t("placement.move_choose")),
    state.families.filter((f) => f.id !== guest.family_id)
      .map((f) => h("option", { value: String(f.id) }, f.household_name)));
  const form = h("form", { class: "placement-move row" },
    h("label", { for: id, class: "visually-hidden" }, t("placement.move_label", { name: guest.name })),
    select,
    h("button", { type: "submit", class: "small" }, t("placement.move")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!select.value) return;
    await act(state, () => api.put(
      `/api/v1/events/${state.event.id}/placement/${guest.participant_id}`,
      { family_id: Number(select.value), pinned: true }),
    t("placement.moved", { name: guest.name }));
  });
  return form;
}

function familyCard(state, family, guests) {
  const headingId = `family-${family.family_id}`;
  const used = family.guest_ids.length;
  return h("section", { class: "card placement-family", "aria-labelledby": headingId },
    h("h3", { id: headingId }, family.household_name, " ",
      h("span", { class: used > family.places ? "badge danger" : "badge neutral" },
        t("placement.places", { used, count: family.places }))),
    [family.address, family.phone, family.email].some(Boolean)
      ? h("p", { class: "muted small" }, [family.address, family.phone, family.email].filter(Boolean).join(" · "))
      : null,
    guests.length ? h("ul", { class: "placement-guests" }, guests.map((g) => guestItem(state, g)))
      : h("p", { class: "muted" }, t("placement.no_guests")));
}

async function act(state, call, done) {
  mount(state.noticeSlot);
  try {
    state.placement = await call();
    paint(state);
    announce(done);
  } catch (error) {
    const unplaced = error instanceof api.ApiError
      ? error.problem?.unplaced || error.problem?.reasons : null;
    mount(state.noticeSlot, problemBox(error, unplaced?.length ? h("ul", {},
      unplaced.map((u) => h("li", {}, `${u.name}: ${u.reasons.join(", ")}`))) : null));
    state.noticeSlot.scrollIntoView({ block: "nearest" });
  }
}

function proposeForm(state) {
  const form = h("form", { class: "placement-propose", "aria-labelledby": "placement-propose" },
    h("h2", { id: "placement-propose" }, t("placement.propose_title")),
    h("p", { class: "muted" }, t("placement.propose_hint")),
    field({ label: t("placement.min_minors"), name: "min_minors_per_family", type: "select",
      value: String(state.placement?.min_minors_per_family || 1),
      options: [["1", t("placement.min_minors_1")], ["2", t("placement.min_minors_2")]] }),
    field({ label: t("placement.include_adults"), name: "include_adults", type: "checkbox",
      value: state.placement?.include_adults || false }),
    h("button", { type: "submit", class: "primary" }, t("placement.propose")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = formValues(form);
    await act(state, () => api.post(`/api/v1/events/${state.event.id}/placement`, {
      min_minors_per_family: Number(values.min_minors_per_family),
      include_adults: values.include_adults }), t("placement.proposed"));
  });
  return h("section", { class: "card" }, form);
}

function statusActions(state) {
  const p = state.placement;
  const confirmed = p.status === "confirmed";
  const next = confirmed ? "proposed" : "confirmed";
  return h("div", { class: "actions" },
    h("button", { type: "button", class: confirmed ? null : "primary",
      onclick: () => act(state, () => api.patch(`/api/v1/events/${state.event.id}/placement`,
        { status: next }), t(confirmed ? "placement.reopened" : "placement.confirmed_done")) },
    t(confirmed ? "placement.reopen" : "placement.confirm")));
}

function paint(state) {
  const p = state.placement;
  if (!p) {
    mount(state.slot, h("p", {}, t("placement.none")), state.runs ? proposeForm(state) : null);
    return;
  }
  const byId = new Map(p.guests.map((g) => [g.participant_id, g]));
  const unplaced = p.guests.filter((g) => g.family_id === null);
  const confirmed = p.status === "confirmed";
  mount(state.slot,
    h("p", {}, h("span", { class: confirmed ? "badge ok" : "badge warn" },
      t(confirmed ? "placement.status_confirmed" : "placement.status_proposed")), " ",
    confirmed && p.confirmed_at
      ? t("placement.confirmed_at", { when: formatDateTime(p.confirmed_at) })
      : t("placement.guests_placed", { count: p.guests.length - unplaced.length, total: p.guests.length })),
    state.runs ? statusActions(state) : null,
    unplaced.length ? h("section", { class: "card", "aria-labelledby": "placement-unplaced" },
      h("h2", { id: "placement-unplaced" }, t("placement.unplaced")),
      h("ul", { class: "placement-guests" }, unplaced.map((g) => guestItem(state, g)))) : null,
    h("section", { "aria-labelledby": "placement-families" },
      h("h2", { id: "placement-families" }, t("placement.families")),
      p.families.map((f) => familyCard(state, f,
        f.guest_ids.map((id) => byId.get(id)).filter(Boolean)))),
    state.runs && !confirmed ? proposeForm(state) : null);
}

// A guest's needs ----------------------------------------------------------------

function summary(needs) {
  const parts = [
    ...needs.allergies.map((a) => label("allergy", a)),
    ...needs.diets.map((d) => label("diet", d)),
    needs.languages.length ? spokenLanguages(needs.languages) : null,
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : t("placement.needs_none");
}

function needsForm(state, guest, needs) {
  const others = state.guests.filter((g) => g.id !== guest.id);
  const choose = [["", t("placement.needs_nobody")], ...others.map((g) => [String(g.id), g.name])];
  const form = h("form", { class: "needs-form", novalidate: true,
    "aria-label": t("placement.needs_of", { name: guest.name }) },
  h("fieldset", {}, h("legend", {}, t("placement.allergies")),
    ALLERGIES.map((a) => field({ label: label("allergy", a), name: `allergy:${a}`, type: "checkbox",
      value: needs.allergies.includes(a) }))),
  h("fieldset", {}, h("legend", {}, t("placement.diets")),
    DIETS.map((d) => field({ label: label("diet", d), name: `diet:${d}`, type: "checkbox",
      value: needs.diets.includes(d) }))),
  field({ label: t("families.languages"), name: "languages", value: needs.languages.join(", "),
    hint: t("families.languages_hint") }),
  field({ label: t("placement.sibling"), name: "sibling_of_id", type: "select",
    value: needs.sibling_of_id ?? "", options: choose }),
  field({ label: t("placement.prefers_with"), name: "prefers_with_id", type: "select",
    value: needs.prefers_with_id ?? "", options: choose }),
  field({ label: t("placement.medical"), name: "medical_notes", type: "textarea", rows: 2,
    value: needs.medical_notes ?? "", hint: t("placement.medical_hint") }),
  h("button", { type: "submit", class: "small" }, t("placement.needs_save")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = formValues(form);
    const body = {
      allergies: ALLERGIES.filter((a) => v[`allergy:${a}`]),
      diets: DIETS.filter((d) => v[`diet:${d}`]),
      languages: v.languages.split(/[\s,;]+/).map((c) => c.toLowerCase()).filter(Boolean),
      sibling_of_id: v.sibling_of_id ? Number(v.sibling_of_id) : null,
      prefers_with_id: v.prefers_with_id ? Number(v.prefers_with_id) : null,
      medical_notes: v.medical_notes || null };
    try {
      const saved = await api.put(`/api/v1/events/${state.event.id}/guests/${guest.id}/needs`, body);
      form.closest("details").querySelector(".needs-summary").textContent = summary(saved);
      announce(t("placement.needs_saved", { name: guest.name }));
      form.closest("details").open = false;
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

/** The needs of the guests the caller's city sends (its coordinators write them). */
async function needsSection(ctx, state) {
  const { regs: holding, people: found } = await holders(ctx, state.event.id);
  const mine = (p) => p && p.home_city_id !== state.event.host_city_id
    && (ctx.who?.role === "admin" || p.home_city_id === ctx.homeCity);
  state.guests = holding.map((r) => found.get(r.participant_id)).filter(mine)
    .map((p) => ({ id: p.id, name: p.full_name }));
  if (!state.guests.length) return null;
  const needs = await Promise.all(state.guests.map((g) =>
    ctx.get(`/api/v1/events/${state.event.id}/guests/${g.id}/needs`)));
  return h("section", { class: "card", "aria-labelledby": "placement-needs" },
    h("h2", { id: "placement-needs" }, t("placement.needs")),
    h("p", { class: "muted" }, t("placement.needs_hint")),
    h("ul", { class: "needs-list" }, state.guests.map((g, i) => h("li", {},
      h("details", {}, h("summary", {}, h("span", { class: "placement-name" }, g.name), " — ",
        h("span", { class: "needs-summary" }, summary(needs[i]))),
      needsForm(state, g, needs[i]))))));
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const event = await ctx.get(`/api/v1/events/${id}`);
  let placement = null;
  try {
    placement = await ctx.get(`/api/v1/events/${id}/placement`);
  } catch (error) {
    if (!(error instanceof api.ApiError && error.status === 404)) throw error;
  }
  const runs = runsEvent(ctx, event) && event.status !== "cancelled";
  // Where a guest may be moved: any family of the host city (the host's side only).
  const families = runs
    ? (await ctx.all(`/api/v1/cities/${event.host_city_id}/host-families`)).items : [];
  const state = { event, placement, runs, families,
    slot: h("div", {}), noticeSlot: h("div", { class: "placement-notice" }) };
  paint(state);
  // The guests' needs: written by their home city's coordinators (not the host's).
  const writesNeeds = event.status !== "cancelled" && (ctx.who?.role === "admin"
    || (ctx.who?.role === "coordinator" && event.guest_city_ids.includes(ctx.homeCity)));
  const needs = writesNeeds ? await needsSection(ctx, state) : null;
  const body = h("article", { class: "placement" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/events/${event.id}` }, t("delegation.back")),
      h("button", { type: "button", onclick: () => window.print() }, t("delegation.print"))),
    h("h1", {}, t("placement.title", { title: event.title })),
    h("p", { class: "muted" }, eventWhen(event)),
    state.runs ? h("p", {}, h("a", { href: `/console/cities/${event.host_city_id}/families` },
      t("placement.manage_families"))) : null,
    state.noticeSlot, needs, state.slot);
  return { title: t("placement.title", { title: event.title }), body };
}
