// The signed-in person's own account (app.accounts, app.keys): their name,
// language (the console's and their emails') and time zone; the second factor
// (an authenticator app); the API keys their systems use, issued for the role and
// city they act in (an admin issues any), the secret shown once; and signing out
// on every device.

import * as api from "../api.js";
import { h, mount, field, noticeSlot, sayAfterRefresh } from "../dom.js";
import { t, label, formatDateTime, languageName } from "../i18n.js";
import { problemBox, onSubmit, writeAndRefresh } from "../problems.js";
import { drawQr } from "../qr.js";

const LANGUAGES = ["en", "ru"];
const KEY_ROLES = ["admin", "coordinator", "partner"];

/** Revokes a key, after asking. */
function revoke(state, key) {
  if (!window.confirm(t("account.key_revoke_confirm", { name: key.name }))) return;
  writeAndRefresh(state.ctx, state.noticeSlot, () => api.post(`/api/v1/api-keys/${key.id}/revoke`),
    t("account.key_revoked_notice", { name: key.name }));
}

function zones(current) {
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", ...all, current])].map((zone) => [zone, zone]);
}

function profileForm(state, user) {
  const form = h("form", { "aria-labelledby": "profile", novalidate: true },
    h("h2", { id: "profile" }, t("account.profile")),
    h("p", { class: "muted" }, user.email),
    field({ label: t("account.name"), name: "display_name", value: user.display_name, required: true,
      maxlength: 200, autocomplete: "name" }),
    field({ label: t("account.language"), name: "language", type: "select", value: user.language,
      hint: t("account.language_hint"), options: LANGUAGES.map((code) => [code, languageName(code)]) }),
    field({ label: t("account.timezone"), name: "timezone", type: "select", value: user.timezone,
      options: zones(user.timezone) }),
    h("button", { type: "submit", class: "primary" }, t("account.save")));
  return h("section", { class: "card" }, onSubmit(form, async (v) => {
    const saved = await api.patch("/api/v1/me", { display_name: v.display_name, language: v.language,
      timezone: v.timezone });
    sayAfterRefresh(t("account.saved", { language: languageName(saved.language) }));
    // The header shows the name, and the account's language is the console's too.
    await state.ctx.signedIn(null);
    await state.ctx.refresh();
  }));
}

function secondFactor(state, user) {
  const section = h("section", { class: "card", "aria-labelledby": "totp" },
    h("h2", { id: "totp" }, t("account.totp")));
  if (user.totp_enabled) {
    section.append(h("p", {}, h("span", { class: "badge ok" }, t("account.totp_on")), " ", t("account.totp_on_words")));
    return section;
  }
  const start = h("button", { type: "button" }, t("account.totp_start"));
  const slot = h("div");
  start.addEventListener("click", async () => {
    mount(state.noticeSlot);
    let setup;
    try {
      setup = await api.post("/api/v1/session/totp");
    } catch (error) {
      mount(state.noticeSlot, problemBox(error));
      return;
    }
    start.hidden = true;
    const confirm = onSubmit(h("form", { "aria-labelledby": "totp-confirm", novalidate: true },
      h("h3", { id: "totp-confirm" }, t("account.totp_confirm")),
      field({ label: t("account.totp_code"), name: "code", inputmode: "numeric",
        autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true }),
      h("button", { type: "submit", class: "primary" }, t("account.totp_confirm_button"))), async (v) => {
      await api.post("/api/v1/session/totp/confirm", { code: v.code.trim() });
      sayAfterRefresh(t("account.totp_done"));
      await state.ctx.refresh();
    });
    const qrSlot = h("div", { class: "qr" });
    mount(slot,
      h("p", {}, t("account.totp_scan")),
      qrSlot,
      h("p", {}, t("account.totp_secret")),
      h("p", {}, h("code", { class: "secret" }, setup.secret.match(/.{1,4}/g).join(" "))),
      h("p", {}, h("a", { href: setup.otpauth_uri }, t("account.totp_link"))),
      confirm);
    await drawQr(qrSlot, setup.otpauth_uri, t("account.totp_qr_label"));
    confirm.querySelector("input").focus();
  });
  section.append(h("p", { class: "muted" }, t("account.totp_off_words")), start, slot);
  return section;
}

function keyRow(state, key) {
  const scope = key.city_id ? `${label("role", key.role)} · ${state.cityNames.get(key.city_id) || `#${key.city_id}`}`
    : label("role", key.role);
  return h("li", { class: "api-key" },
    h("div", { class: "spread" },
      h("strong", {}, key.name),
      h("span", { class: `badge ${key.revoked_at ? "neutral" : "ok"}` },
        key.revoked_at ? t("account.key_revoked", { when: formatDateTime(key.revoked_at) }) : t("account.key_active"))),
    h("p", { class: "muted" }, h("code", {}, `${key.prefix}…`), " · ", scope, " · ",
      t("account.key_made", { when: formatDateTime(key.created_at) })),
    key.revoked_at ? null : h("button", { type: "button", class: "small",
      "aria-label": `${t("account.key_revoke")}: ${key.name}`, onclick: () => revoke(state, key) },
      t("account.key_revoke")));
}

function keyForm(state) {
  const who = state.ctx.who;
  const admin = who.role === "admin";
  const form = h("form", { "aria-labelledby": "key-new", novalidate: true },
    h("h3", { id: "key-new" }, t("account.key_new")),
    h("p", { class: "muted" }, admin ? t("account.key_new_admin") : t("account.key_new_words", {
      role: label("role", who.role), city: who.cityName || "" })),
    field({ label: t("account.key_name"), name: "name", required: true, maxlength: 200,
      hint: t("account.key_name_hint") }),
    admin ? [
      field({ label: t("account.key_role"), name: "role", type: "select", value: "partner",
        options: KEY_ROLES.map((role) => [role, label("role", role)]) }),
      field({ label: t("account.key_city"), name: "city_id", type: "number", min: 1,
        hint: t("account.key_city_hint") })] : null,
    h("button", { type: "submit", class: "primary" }, t("account.key_issue")));
  return onSubmit(form, async (v) => {
    const body = admin
      ? { name: v.name, role: v.role, city_id: v.role === "admin" || !v.city_id ? null : Number(v.city_id) }
      : { name: v.name, role: who.role, city_id: who.cityId };
    const made = await api.post("/api/v1/api-keys", body);
    sayAfterRefresh(h("div", { class: "notice", role: "status" },
      h("p", {}, t("account.key_once", { name: made.name })),
      h("p", {}, h("code", { class: "secret" }, made.key))));
    await state.ctx.refresh();
  });
}

export async function render(ctx) {
  if (ctx.who?.kind !== "session") {
    const title = t("account.title");
    return { title, body: h("article", { class: "account" }, h("h1", {}, title), h("p", {}, t("account.key_session"))) };
  }
  const [me, keys] = await Promise.all([ctx.get("/api/v1/session"), ctx.get("/api/v1/api-keys")]);
  const cityIds = [...new Set(keys.map((k) => k.city_id).filter(Boolean))];
  const cities = await Promise.all(cityIds.map((id) => ctx.get(`/api/v1/cities/${id}`).catch(() => null)));
  const state = { ctx, noticeSlot: noticeSlot(),
    cityNames: new Map(cities.filter(Boolean).map((c) => [c.id, c.name])) };
  const live = keys.filter((k) => !k.revoked_at);
  const past = keys.filter((k) => k.revoked_at);
  const title = t("account.title");
  const body = h("article", { class: "account" },
    h("h1", {}, title),
    state.noticeSlot,
    h("div", { class: "grid" }, profileForm(state, me.user), secondFactor(state, me.user)),
    h("section", { class: "card", "aria-labelledby": "keys" },
      h("h2", { id: "keys" }, t("account.keys", { count: live.length })),
      h("p", { class: "muted" }, t(ctx.who.role === "admin" ? "account.keys_admin" : "account.keys_intro")),
      live.length ? h("ul", { class: "plain api-keys" }, live.map((k) => keyRow(state, k)))
        : h("p", {}, t("account.no_keys")),
      past.length ? h("details", {}, h("summary", {}, t("account.past_keys", { count: past.length })),
        h("ul", { class: "plain api-keys" }, past.map((k) => keyRow(state, k)))) : null,
      keyForm(state)),
    h("section", { class: "card", "aria-labelledby": "everywhere" },
      h("h2", { id: "everywhere" }, t("account.everywhere")),
      h("p", { class: "muted" }, t("account.everywhere_words")),
      h("button", { type: "button", onclick: async () => {
        if (!window.confirm(t("account.everywhere_confirm"))) return;
        try {
          await api.post("/api/v1/session/sign-out-everywhere");
          api.setCsrfToken(null);
          await ctx.signedIn(null);
          ctx.navigate("/console/sign-in");
        } catch (error) {
          mount(state.noticeSlot, problemBox(error));
        }
      } }, t("account.everywhere_button"))));
  return { title, body };
}
