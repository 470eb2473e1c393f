// Twinplan's public API, as the console calls it: same origin, the session cookie
// (or an admin's API key), the CSRF token on writes, problems as ApiError.

let csrfToken = null;
let apiKey = sessionStorage.getItem("twinplan-key");

export function setCsrfToken(token) { csrfToken = token; }

/** An admin's API key, kept for this tab only (sessionStorage, never the URL). */
export function setApiKey(key) {
  apiKey = key || null;
  if (apiKey) sessionStorage.setItem("twinplan-key", apiKey);
  else sessionStorage.removeItem("twinplan-key");
}
export function usingApiKey() { return Boolean(apiKey); }

/**
 * An answer that is not a success. `status` is the HTTP status (0: no answer at
 * all); `problem` is the RFC 9457 body when there is one; `fields` maps a field
 * name to its errors ({type, msg, ctx}); `etag` the current version on a 412.
 */
export class ApiError extends Error {
  constructor(status, problem, response) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || null;
    this.type = problem?.type ? problem.type.split("/").pop() : null;
    this.fields = {};
    for (const error of problem?.errors || []) {
      const loc = (error.loc || []).filter((part) => !["body", "query", "path"].includes(part));
      const name = loc.length ? String(loc[0]) : "";
      (this.fields[name] ||= []).push(error);
    }
    this.retryAfter = response?.headers.get("Retry-After") || null;
  }
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, String(one));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * request("GET", "/api/v1/events", { params, body, signal, ifMatch, raw })
 * Resolves to the parsed JSON (null for 204), or with `raw`, the Response.
 * Rejects with ApiError, or with the AbortError of a superseded request.
 */
export async function request(method, path, { params, body, signal, ifMatch, raw } = {}) {
  const headers = { Accept: "application/json" };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  if (method !== "GET" && method !== "HEAD") {
    if (csrfToken && !apiKey) headers["X-CSRF-Token"] = csrfToken;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = ifMatch;
  let response;
  try {
    response = await fetch(url(path, params), {
      method, headers, signal, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, null, null);
  }
  if (raw && response.ok) return response;
  const type = response.headers.get("Content-Type") || "";
  const json = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, json, response);
  if (response.status === 204) return null;
  if (json === null) throw new ApiError(response.status, null, response);
  if (json && typeof json === "object" && !Array.isArray(json)) {
    Object.defineProperty(json, "etag", { value: response.headers.get("ETag"), enumerable: false });
  }
  return json;
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, body, options) => request("POST", path, { ...options, body });
export const patch = (path, body, options) => request("PATCH", path, { ...options, body });
export const put = (path, body, options) => request("PUT", path, { ...options, body });
export const del = (path, options) => request("DELETE", path, options);

/** Every item of a paged list, page after page (at most `max` items). */
export async function all(path, { params, signal, max = 2000 } = {}) {
  const items = [];
  let offset = 0;
  for (;;) {
    const page = await get(path, { params: { ...params, limit: 200, offset }, signal });
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total || items.length >= max) {
      return { items, total: page.total };
    }
  }
}
