// Sign in: email and password (and the authenticator code where the city asks),
// the city hall's single sign-on where it is set up, or an admin's API key.

import * as api from "../api.js";
import { h, field, formValues } from "../dom.js";
import { t } from "../i18n.js";
import { showErrors, clearErrors } from "../problems.js";

function nextAddress(ctx) {
  const next = ctx.query.get("next") || "/console/";
  // Only a console address: never send someone elsewhere after signing in.
  return next.startsWith("/console/") && !next.startsWith("//") ? next : "/console/";
}

export async function render(ctx) {
  const sso = await ctx.get("/api/v1/sso").catch(() => null);
  if (ctx.who) {
    return {
      title: t("signin.title"),
      body: h("section", { class: "signin card" }, h("h1", {}, t("signin.already", { name: ctx.who.name })),
        h("p", {}, h("a", { href: nextAddress(ctx) }, t("signin.continue")))),
    };
  }

  const totp = field({ label: t("signin.totp"), name: "totp_code", inputmode: "numeric",
    autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, hint: t("signin.totp_hint") });
  totp.hidden = true;
  const submit = h("button", { type: "submit", class: "primary" }, t("signin.submit"));
  const form = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const body = { email: values.email, password: values.password };
    if (!totp.hidden && values.totp_code) body.totp_code = values.totp_code;
    submit.disabled = true;
    try {
      const session = await api.post("/api/v1/session", body);
      await ctx.signedIn(session);
      ctx.navigate(nextAddress(ctx), { replace: true });
    } catch (error) {
      if (error.problem?.totp_required && totp.hidden) {
        totp.hidden = false;
        totp.querySelector("input").focus();
      }
      showErrors(form, error);
    } finally {
      submit.disabled = false;
    }
  } },
  field({ label: t("signin.email"), name: "email", type: "email", autocomplete: "username", required: true }),
  field({ label: t("signin.password"), name: "password", type: "password",
    autocomplete: "current-password", required: true }),
  totp,
  h("div", { class: "actions" }, submit));

  const keyForm = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearErrors(keyForm);
    const { api_key: key } = formValues(keyForm);
    api.setApiKey(key);
    try {
      const now = await ctx.signedIn(null);
      if (now?.kind !== "key") throw new api.ApiError(401, { detail: t("signin.key_refused") });
      ctx.navigate(nextAddress(ctx), { replace: true });
    } catch (error) {
      api.setApiKey(null);
      showErrors(keyForm, error);
    }
  } },
  field({ label: t("signin.api_key"), name: "api_key", type: "password", autocomplete: "off",
    hint: t("signin.api_key_hint") }),
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("signin.use_key"))));

  return {
    title: t("signin.title"),
    body: h("section", { class: "signin" },
      h("div", { class: "card" },
        h("h1", {}, t("signin.title")),
        form,
        sso?.configured ? h("p", {}, h("a", { class: "button", href: sso.login_url },
          t("signin.sso"))) : null),
      h("details", { class: "card" }, h("summary", {}, t("signin.with_key")), keyForm)),
  };
}
