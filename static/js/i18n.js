// Words and dates in the coordinator's language. Each language is one file,
// static/i18n/<code>.json, of flat keys ("event.register": "Register"); a value
// that varies with a count is an object of Intl.PluralRules categories
// ({"one": "{count} place", "few": ..., "many": ..., "other": ...}).
// Dates, times and numbers go through Intl, in the language chosen here.

const STORE = "twinplan-language";
let language = "en";
// Dates and numbers follow the browser's own variant of the chosen language
// (en-GB writes 25 Apr 2027, 14:00; en-US Apr 25, 2027, 2:00 PM).
let locale = "en";
let messages = {};
let fallback = {};
let plural = new Intl.PluralRules("en");

async function fetchMessages(code) {
  const response = await fetch(`/console/i18n/${code}.json`);
  if (!response.ok) throw new Error(`no translation file for ${code}`);
  return response.json();
}

/** The console's languages: the files in static/i18n, as the server lists them. */
let available = null;
export async function languages() {
  if (!available) {
    const response = await fetch("/console/languages.json");
    available = response.ok ? await response.json() : ["en"];
  }
  return available;
}

/** The language to start in: the one chosen last in this browser, else the browser's. */
export async function preferredLanguage() {
  const codes = await languages();
  const wanted = [localStorage.getItem(STORE), ...navigator.languages.map((l) => l.slice(0, 2))];
  return wanted.find((code) => code && codes.includes(code)) || "en";
}

/** Loads `code` (English fills any key a translation lacks). */
export async function setLanguage(code) {
  const codes = await languages();
  if (!codes.includes(code)) code = "en";
  const [own, english] = await Promise.all([
    fetchMessages(code), Object.keys(fallback).length ? fallback : fetchMessages("en")]);
  fallback = english;
  messages = own;
  language = code;
  locale = navigator.languages.find((tag) => tag.split("-")[0] === code) || code;
  plural = new Intl.PluralRules(code);
  localStorage.setItem(STORE, code);
  document.documentElement.lang = code;
  return code;
}

export function currentLanguage() { return language; }

/** The locale that Intl formats in (the chosen language, in the browser's variant). */
export function currentLocale() { return locale; }

/** The name of a language, in that language ("Русский"). */
export function languageName(code) {
  const name = new Intl.DisplayNames([code], { type: "language" }).of(code) || code;
  return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
}

/** Languages by their ISO 639-1 codes, named in the console's language ("English, Russian"). */
export function spokenLanguages(codes) {
  const names = new Intl.DisplayNames([locale], { type: "language" });
  return codes.map((code) => {
    try { return names.of(code) || code; } catch { return code; }
  }).join(", ");
}

/** t("participants.count", { count: 3 }): the message, with {names} filled in. */
export function t(key, vars = {}) {
  let message = key in messages ? messages[key] : fallback[key];
  if (message === undefined) {
    console.warn(`missing message: ${key}`);
    return key;
  }
  if (typeof message === "object") {
    const form = plural.select(Number(vars.count ?? 0));
    message = message[form] ?? message.other;
  }
  return message.replace(/\{(\w+)\}/g, (match, name) => {
    if (!(name in vars)) return match;
    const value = vars[name];
    return typeof value === "number" ? formatNumber(value) : String(value);
  });
}

/** Whether a message exists (for optional words, such as a problem's type). */
export function has(key) { return key in messages || key in fallback; }

/** An enum's value in words: label("kind", "school_exchange"). */
export function label(group, value) {
  const key = `${group}.${value}`;
  return has(key) ? t(key) : String(value).replaceAll("_", " ");
}

export function formatNumber(value, options) {
  return new Intl.NumberFormat(locale, options).format(value);
}

// Local times from the API carry their offset ("2027-04-20T09:00:00+03:00"): read
// as instants, then shown in the zone asked for.
export function formatDateTime(iso, timeZone, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(locale, { ...options, timeZone }).format(new Date(iso));
}

export function formatTime(iso, timeZone) {
  return new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone }).format(new Date(iso));
}

/** A calendar date ("2027-04-25"), which has no zone. */
export function formatDate(isoDate, options = { dateStyle: "medium" }) {
  const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

/** A span of days or times, as Intl words it ("20–27 Apr 2027"). */
export function formatRange(startIso, endIso, timeZone, options) {
  const format = new Intl.DateTimeFormat(locale, { ...options, timeZone });
  return format.formatRange(new Date(startIso), new Date(endIso));
}

/** A partial date ("1944", "2017-05", "2017-05-20") as words, a year alone as a year. */
export function formatPartialDate(value) {
  if (!value) return "";
  if (/^\d{4}$/.test(value)) return value;
  if (/^\d{4}-\d{2}$/.test(value)) {
    const [y, m] = value.split("-").map(Number);
    return new Intl.DateTimeFormat(locale, { year: "numeric", month: "long", timeZone: "UTC" })
      .format(new Date(Date.UTC(y, m - 1, 1)));
  }
  return formatDate(value);
}

/** "in 3 days", "yesterday" */
export function formatRelativeDays(days) {
  return new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(days, "day");
}

/** A country's name from its ISO code, in the chosen language ("RU" -> "Russia", "Россия"). */
export function countryName(code) {
  try {
    return new Intl.DisplayNames([locale], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

/** The long name of a time zone at an instant ("Moscow Standard Time"), via Intl. */
export function zoneName(timeZone, at = new Date()) {
  try {
    const parts = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: "long" })
      .formatToParts(at);
    return parts.find((p) => p.type === "timeZoneName")?.value || timeZone;
  } catch {
    return timeZone;
  }
}
