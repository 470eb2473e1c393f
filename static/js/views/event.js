// Placeholder: being built.
import { h } from "../dom.js";

export async function render(ctx) {
  return { title: "event", body: h("section", {}, h("h1", {}, "event")) };
}
