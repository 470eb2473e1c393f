// What went wrong, in words a coordinator understands, next to what caused it.

import { ApiError } from "./api.js";
import { h, announce, mount, formValues, sayAfterRefresh } from "./dom.js";
import { t, has, currentLanguage } from "./i18n.js";

/** One field error ({type, msg, ctx}) as a sentence. */
export function fieldMessage(error) {
  // A rule of Twinplan's own ("a chaperone must be an adult") comes as a
  // value_error whose message says it best; pydantic's generic checks are worded here.
  const key = `problem.field.${error.type}`;
  if (error.type !== "value_error" && has(key)) return t(key, error.ctx || {});
  return error.msg.charAt(0).toUpperCase() + error.msg.slice(1);
}

/** The whole problem as one sentence (or two). */
export function explain(error) {
  if (!(error instanceof ApiError)) return t("problem.unexpected");
  if (error.status === 0) return t("problem.offline");
  const problem = error.problem;
  if (!problem) return t("problem.not_json", { status: error.status });
  if (error.status === 422 && problem.errors?.length) {
    return problem.errors.map((e) => {
      const where = e.loc.filter((p) => !["body", "query", "path"].includes(p)).join(".");
      const name = has(`fieldname.${where}`) ? t(`fieldname.${where}`) : where;
      return name ? `${name}: ${fieldMessage(e)}` : fieldMessage(e);
    }).join(" ");
  }
  const byStatus = `problem.status.${error.status}`;
  const detail = problem.detail ? sentence(problem.detail) : "";
  if (error.status === 429 && error.retryAfter) {
    return `${t("problem.status.429")} ${t("problem.retry_after", { seconds: error.retryAfter })}`;
  }
  // The server's own sentence says exactly what is wrong, in English; in another
  // language it follows the translated gist of the status.
  if (detail && currentLanguage() === "en") return detail;
  if (has(byStatus)) return detail ? `${t(byStatus)} (${detail})` : t(byStatus);
  return detail || problem.title;
}

function sentence(text) {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Clears the errors that showErrors put on a form. */
export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const summary = form.querySelector(".form-problem");
  if (summary) summary.remove();
}

/**
 * Puts each field error beside its field (aria-invalid, read out through
 * aria-describedby) and anything else in an alert at the top of the form; moves
 * focus to the first field in error. Field names map with `aliases` when the API
 * names a field differently from the form ({starts_at: "start"}).
 */
export function showErrors(form, error, aliases = {}) {
  clearErrors(form);
  const unplaced = [];
  let first = null;
  if (error instanceof ApiError && error.status === 422) {
    for (const [name, errors] of Object.entries(error.fields)) {
      const slot = form.querySelector(`[data-field="${aliases[name] || name}"]`);
      if (!slot) {
        unplaced.push(...errors);
        continue;
      }
      const message = slot.querySelector(".field-error");
      message.textContent = errors.map(fieldMessage).join(" ");
      message.hidden = false;
      const control = slot.querySelector("input, select, textarea");
      if (control) {
        control.setAttribute("aria-invalid", "true");
        first ||= control;
      }
    }
  }
  const placedAll = error instanceof ApiError && error.status === 422 && !unplaced.length;
  if (!placedAll) {
    const text = unplaced.length
      ? unplaced.map(fieldMessage).join(" ")
      : explain(error);
    const alert = h("div", { class: "form-problem", role: "alert" }, text);
    form.prepend(alert);
    if (!first) alert.scrollIntoView({ block: "nearest" });
  } else {
    announce(t("problem.check_fields"));
  }
  if (first) first.focus();
}

/** A problem shown in place of a view or a section. */
export function problemBox(error, extra) {
  return h("div", { class: "problem", role: "alert" }, h("p", {}, explain(error)), extra || null);
}

/**
 * Makes `form`'s submit run `write(values)` (its named controls, as formValues
 * reads them): the last try's errors cleared first, a refusal shown beside the
 * fields that caused it. Returns the form.
 */
export function onSubmit(form, write) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await write(formValues(form));
    } catch (error) {
      showErrors(form, error);
    }
  });
  return form;
}

/**
 * A write made from a button (withdraw, revoke): once it is done the view is read
 * again (`ctx.refresh`) and says `done`; a refusal shows in the view's `slot`.
 */
export async function writeAndRefresh(ctx, slot, write, done) {
  mount(slot);
  try {
    await write();
    sayAfterRefresh(done);
    await ctx.refresh();
  } catch (error) {
    mount(slot, problemBox(error));
    slot.scrollIntoView({ block: "nearest" });
  }
}
