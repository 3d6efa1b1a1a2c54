// The review server's JSON API; every call carries the session token (CSRF defence).
const TOKEN = document.querySelector('meta[name="qaforge-token"]').content;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { "X-QAForge-Token": TOKEN }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, { error: "The review server cannot be reached (was `qaforge review` stopped?)." });
  }
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data || { error: `${response.status} ${response.statusText}` });
  return data;
}
export const docPath = (id) => `/api/docs/${encodeURIComponent(id)}`;
