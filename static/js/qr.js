// QR codes for what a phone should read: a feed's address (calendar), an
// authenticator app's key (account). The encoder is qrcode-generator, vendored.

/** The QR code of `url` in `slot`, an SVG image named `label`, built with DOM (no
 * markup strings, nothing fetched but the vendored encoder, loaded on first use). */
export async function drawQr(slot, url, label) {
  const { qrcode } = await import("/console/vendor/qrcode-generator/qrcode.mjs");
  const qr = qrcode(0, "M");
  qr.addData(url);
  qr.make();
  const count = qr.getModuleCount();
  const margin = 4;
  const size = count + margin * 2;
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) path += `M${col + margin} ${row + margin}h1v1h-1z`;
    }
  }
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "qr-code");
  svg.setAttribute("shape-rendering", "crispEdges");
  const background = document.createElementNS(ns, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  const dark = document.createElementNS(ns, "path");
  dark.setAttribute("d", path);
  dark.setAttribute("fill", "#000");
  svg.append(background, dark);
  slot.replaceChildren(svg);
}
