// JSON over HTTP with the cookie session. Every failure becomes an ApiError
// carrying the contract's {code, message} so views can show one clear line.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter, reason, params) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.reason = reason || code;
    this.params = params || {};
  }
}

const listeners = new Set();
// Called with no arguments whenever the server says the session is gone.
export function onSignedOut(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

async function errorFrom(res) {
  let code = "internal";
  let message = "";
  let reason;
  let params;
  try {
    const body = await res.json();
    if (body && body.error) ({ code, message, reason, params } = body.error);
  } catch {
    code = res.status === 413 ? "too_large" : code;
  }
  const retry = Number(res.headers.get("Retry-After")) || undefined;
  return new ApiError(res.status, code, message, retry, reason, params);
}

export async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "");
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && err.code === "not_signed_in") listeners.forEach((fn) => fn());
    throw err;
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  put: (path, body) => request("PUT", path, body),
  del: (path) => request("DELETE", path),
};

const enc = encodeURIComponent;
export const paths = {
  room: (id) => `/api/rooms/${enc(id)}`,
  threads: (roomId, after) => `/api/rooms/${enc(roomId)}/threads${after ? `?after=${enc(after)}` : ""}`,
  thread: (id) => `/api/threads/${enc(id)}`,
  posts: (threadId, after, limit = 200) =>
    `/api/threads/${enc(threadId)}/posts?limit=${limit}${after ? `&after=${enc(after)}` : ""}`,
  post: (id) => `/api/posts/${enc(id)}`,
  files: (roomId) => `/api/rooms/${enc(roomId)}/files`,
  folders: (roomId) => `/api/rooms/${enc(roomId)}/folders`,
  file: (id) => `/api/files/${enc(id)}`,
  content: (id) => `/api/files/${enc(id)}/content`,
  thumbnail: (id) => `/api/files/${enc(id)}/thumbnail`,
  invites: (roomId) => `/api/rooms/${enc(roomId)}/invites`,
  invite: (roomId, code) => `/api/rooms/${enc(roomId)}/invites/${enc(code)}`,
  pupils: (roomId) => `/api/rooms/${enc(roomId)}/pupils`,
  member: (roomId, userId) => `/api/rooms/${enc(roomId)}/members/${enc(userId)}`,
  mutes: (roomId) => `/api/rooms/${enc(roomId)}/mutes`,
  mute: (roomId, userId) => `/api/rooms/${enc(roomId)}/mutes/${enc(userId)}`,
  password: (roomId, userId) => `/api/rooms/${enc(roomId)}/members/${enc(userId)}/password`,
  search: (roomId, q) => `/api/rooms/${enc(roomId)}/search?q=${enc(q)}`,
  sessions: (roomId) => `/api/rooms/${enc(roomId)}/sessions`,
  session: (id) => `/api/sessions/${enc(id)}`,
  reports: (roomId) => `/api/rooms/${enc(roomId)}/reports`,
  report: (roomId, id) => `/api/rooms/${enc(roomId)}/reports/${enc(id)}`,
  audit: (roomId) => `/api/rooms/${enc(roomId)}/audit`,
};

// Every thread of a room, in order, following `after` pages of 200.
export async function allThreads(roomId) {
  const out = [];
  for (;;) {
    const page = await api.get(paths.threads(roomId, out.length ? out[out.length - 1].id : null));
    out.push(...page);
    if (page.length < 200) return out;
  }
}

// Every post of a thread, in order, following `after` pages.
export async function allPosts(threadId, after = 0) {
  const out = [];
  let cursor = after;
  for (;;) {
    const page = await api.get(paths.posts(threadId, cursor));
    out.push(...page);
    if (page.length < 200) return out;
    cursor = page[page.length - 1].seq;
  }
}

// Multipart upload through XMLHttpRequest, the one browser API that reports
// upload progress. Resolves with the created file; rejects with an ApiError.
export function upload(roomId, file, folder, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", paths.files(roomId));
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const e = (body && body.error) || {};
        const code = e.code || (xhr.status === 413 ? "too_large" : "internal");
        const retry = Number(xhr.getResponseHeader("Retry-After")) || undefined;
        reject(new ApiError(xhr.status, code, e.message || "", retry, e.reason, e.params));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "")));
    const form = new FormData();
    if (folder) form.append("folder", folder);
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
