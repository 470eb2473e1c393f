// Building the page: h() makes elements, announce() speaks to screen readers.

/**
 * h("button", { class: "primary", onclick: save, type: "submit" }, "Save")
 *
 * Props: `class`, `on<event>` handlers, `dataset` (an object), booleans
 * (`hidden`, `disabled`, `required`, ...: true sets, false omits), anything else
 * as an attribute. Children: strings, numbers, nodes, arrays of them; null,
 * undefined and false are skipped. Text is always text, never HTML.
 */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "value" && "value" in node) {
      node.value = value;
    } else if (name === "checked" || name === "selected") {
      node[name] = Boolean(value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces what `node` holds. */
export function mount(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let idCounter = 0;
/** A page-unique id, for label/for and aria-describedby pairs. */
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Says `message` through the polite live region (screen readers read it once). */
export function announce(message) {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = "";
  // A fresh text node after a tick, so the same message twice is read twice.
  setTimeout(() => { live.textContent = message; }, 50);
}

// What the last write on a view did, said once the view is painted again (a write
// re-renders its view through ctx.refresh): a string as a notice, a node as it is.
let pendingNotice = null;

/** Says `message` (a string or a node) on the next view painted. */
export function sayAfterRefresh(message) {
  pendingNotice = message;
}

/** A slot for a view's notices, holding the one said before the refresh, once. */
export function noticeSlot() {
  const slot = h("div", {});
  if (typeof pendingNotice === "string") {
    mount(slot, h("p", { class: "notice", role: "status" }, pendingNotice));
    announce(pendingNotice);
  } else if (pendingNotice) {
    mount(slot, pendingNotice);
  }
  pendingNotice = null;
  return slot;
}

/**
 * A labelled form field: h-built label, control and a slot for its error.
 * field({ label, name, type, value, required, hint, options: [[value, text]] })
 */
export function field({ label, name, type = "text", value, hint, options, ...rest }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  let control;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  if (type === "select") {
    control = h("select", { id, name, "aria-describedby": describedBy, ...rest },
      (options || []).map(([v, text]) =>
        h("option", { value: v, selected: String(v) === String(value ?? "") }, text)));
  } else if (type === "textarea") {
    control = h("textarea", { id, name, "aria-describedby": describedBy, ...rest });
    control.value = value ?? "";
  } else if (type === "checkbox") {
    control = h("input", { id, name, type, checked: Boolean(value),
      "aria-describedby": describedBy, ...rest });
    return h("div", { class: "field field-check", dataset: { field: name } },
      control, h("label", { for: id }, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      h("p", { class: "field-error", id: errorId, hidden: true }));
  } else {
    control = h("input", { id, name, type, value: value ?? "", "aria-describedby": describedBy,
      ...rest });
  }
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "field-error", id: errorId, hidden: true }));
}

/** The values of a form's named controls, as strings ("" when empty) and booleans. */
export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name) continue;
    values[control.name] = control.type === "checkbox" ? control.checked : control.value.trim();
  }
  return values;
}

/** Downloads `text` as a file, built in the browser (no request). */
export function download(filename, text, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
