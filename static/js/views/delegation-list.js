// Placeholder: being built.
import { h } from "../dom.js";

export async function render(ctx) {
  return { title: "delegation-list", body: h("section", {}, h("h1", {}, "delegation-list")) };
}
