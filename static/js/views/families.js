// A city's host families (app.hosting), for its coordinators and admins: who they
// are, how many guests they take, the languages spoken at home, pets, smoking and
// the diets they cater for, which the placement of an exchange's guests keeps.
// Add a family, remove one (refused while it hosts guests in a placement).

import * as api from "../api.js";
import { h, mount, field, noticeSlot, sayAfterRefresh } from "../dom.js";
import { t, label, spokenLanguages } from "../i18n.js";
import { problemBox, onSubmit } from "../problems.js";
import { DIETS } from "../enums.js";


/** "ru, en" -> ["ru", "en"] */
function languagesOf(text) {
  return text.split(/[\s,;]+/).map((c) => c.trim().toLowerCase()).filter(Boolean);
}

function familyRow(state, family) {
  const facts = [
    t("families.places", { count: family.places }),
    family.languages.length ? spokenLanguages(family.languages) : null,
    family.pets ? t("families.pets") : null,
    family.smoking ? t("families.smoking") : null,
    family.diets.length ? family.diets.map((d) => label("diet", d)).join(", ") : null,
  ].filter(Boolean).join(" · ");
  return h("li", { class: "card family" },
    h("div", { class: "spread" },
      h("h3", {}, family.household_name),
      h("button", { type: "button", class: "small",
        "aria-label": t("families.remove_named", { name: family.household_name }),
        onclick: () => removeFamily(state, family) }, t("families.remove"))),
    h("p", {}, facts),
    [family.address, family.phone, family.email].some(Boolean)
      ? h("p", { class: "muted" }, [family.address, family.phone, family.email].filter(Boolean).join(" · "))
      : null,
    family.notes ? h("p", { class: "city-notes" }, family.notes) : null);
}

async function removeFamily(state, family) {
  if (!window.confirm(t("families.remove_confirm", { name: family.household_name }))) return;
  try {
    await api.del(`/api/v1/host-families/${family.id}`);
    sayAfterRefresh(t("families.removed", { name: family.household_name }));
    await state.ctx.refresh();
  } catch (error) {
    mount(state.noticeSlot, problemBox(error));
    state.noticeSlot.scrollIntoView({ block: "nearest" });
  }
}

function addForm(state) {
  const form = h("form", { class: "family-form", "aria-labelledby": "family-new", novalidate: true },
    h("h2", { id: "family-new" }, t("families.add")),
    field({ label: t("families.household"), name: "household_name", required: true, maxlength: 200,
      hint: t("families.household_hint") }),
    h("div", { class: "row" },
      field({ label: t("families.places_label"), name: "places", type: "number", value: "1",
        min: 1, max: 20, required: true }),
      field({ label: t("families.languages"), name: "languages", hint: t("families.languages_hint") })),
    field({ label: t("families.pets_label"), name: "pets", type: "checkbox" }),
    field({ label: t("families.smoking_label"), name: "smoking", type: "checkbox" }),
    h("fieldset", { class: "family-diets" }, h("legend", {}, t("families.diets")),
      DIETS.map((d) => field({ label: label("diet", d), name: `diet:${d}`, type: "checkbox" }))),
    field({ label: t("families.address"), name: "address", maxlength: 500 }),
    h("div", { class: "row" },
      field({ label: t("families.phone"), name: "phone", type: "tel" }),
      field({ label: t("families.email"), name: "email", type: "email" })),
    field({ label: t("families.notes"), name: "notes", type: "textarea", rows: 2 }),
    h("button", { type: "submit", class: "primary" }, t("families.add_button")));
  onSubmit(form, async (v) => {
    const body = { household_name: v.household_name, places: Number(v.places),
      languages: languagesOf(v.languages), pets: v.pets, smoking: v.smoking,
      diets: DIETS.filter((d) => v[`diet:${d}`]), address: v.address || null,
      phone: v.phone || null, email: v.email || null, notes: v.notes || null };
    await api.post(`/api/v1/cities/${state.city.id}/host-families`, body);
    sayAfterRefresh(t("families.added", { name: v.household_name }));
    await state.ctx.refresh();
  });
  return h("section", { class: "card" }, form);
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [city, families] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.all(`/api/v1/cities/${id}/host-families`),
  ]);
  const state = { ctx, city, noticeSlot: noticeSlot() };
  const body = h("article", { class: "families" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/cities/${city.id}` }, t("city.back", { city: city.name }))),
    h("h1", {}, t("families.title", { city: city.name })),
    h("p", { class: "muted" }, t("families.intro")),
    state.noticeSlot,
    h("section", { "aria-labelledby": "families-list" },
      h("h2", { id: "families-list" }, t("families.list", { count: families.total })),
      families.items.length
        ? h("ul", { class: "families-list" }, families.items.map((f) => familyRow(state, f)))
        : h("p", {}, t("families.none"))),
    addForm(state));
  return { title: t("families.title", { city: city.name }), body };
}
