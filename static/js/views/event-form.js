// Placeholder: being built.
import { h } from "../dom.js";

export async function render(ctx) {
  return { title: "event-form", body: h("section", {}, h("h1", {}, "event-form")) };
}
