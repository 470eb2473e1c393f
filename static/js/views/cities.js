// Placeholder: being built.
import { h } from "../dom.js";

export async function render(ctx) {
  return { title: "cities", body: h("section", {}, h("h1", {}, "cities")) };
}
