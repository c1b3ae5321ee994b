// The API as this page calls it: the key from sessionStorage as `Authorization: Bearer`, and
// problem+json errors turned into ApiError with their field paths.

const KEY = "nnserve.apiKey";

/** @returns {string} */
export function apiKey() {
  return sessionStorage.getItem(KEY) ?? "";
}

/** @param {string} key */
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** @returns {Record<string, string>} */
export function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** @typedef {{ path: string, message: string }} FieldIssue */
/** @typedef {{ detail?: string, title?: string, code?: string, errors?: FieldIssue[] }} Problem */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem | undefined} problem
   */
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code;
    this.errors = problem?.errors ?? [];
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    if (response.status === 401) document.dispatchEvent(new CustomEvent("nnserve:unauthenticated"));
    throw new ApiError(response.status, typeof data === "object" ? data : undefined);
  }
  return data;
}

/**
 * @typedef {{ signal: AbortSignal, onEvent: (name: string, data: any, how: { resumed: boolean }) => void, onConnection?: (state: "open" | "reconnecting") => void }} StreamHandlers
 */

/**
 * Follows GET /jobs/{id}/events with fetch and a stream reader (EventSource cannot send the
 * Authorization header). Calls onEvent(name, data, { resumed }) per event; on a dropped
 * connection it reconnects with Last-Event-ID until the `end` event or until `signal` aborts. A
 * resumed stream's snapshot holds only the epochs after that id (`resumed` is true).
 * @param {string} id
 * @param {StreamHandlers} handlers
 */
export function followJob(id, handlers) {
  return followEvents(`/jobs/${encodeURIComponent(id)}/events`, "end", handlers);
}

/**
 * Follows GET /studies/{id}/events as followJob follows a job: every decision of the study
 * (event name = its type, data = the StudyEvent), resumed with Last-Event-ID after a dropped
 * connection, until `study.finished` or until `signal` aborts.
 * @param {string} id
 * @param {StreamHandlers} handlers
 */
export function followStudy(id, handlers) {
  return followEvents(`/studies/${encodeURIComponent(id)}/events`, "study.finished", handlers);
}

/**
 * A text/event-stream read with fetch, until the event named `last` or until the signal aborts.
 * @param {string} path
 * @param {string} last
 * @param {StreamHandlers} handlers
 */
async function followEvents(path, last, { signal, onEvent, onConnection }) {
  /** @type {string | undefined} */
  let lastEventId;
  let retryMs = 2000;
  while (!signal.aborted) {
    try {
      /** @type {Record<string, string>} */
      const headers = { accept: "text/event-stream", ...authHeaders() };
      const resumed = lastEventId !== undefined;
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const response = await fetch(path, { headers, signal });
      // Nothing follows: the study ended before (or right after) the last event this page saw.
      if (response.status === 204) return;
      if (!response.ok) {
        const problem = await response.json().catch(() => undefined);
        if (response.status === 401) {
          document.dispatchEvent(new CustomEvent("nnserve:unauthenticated"));
        }
        throw new ApiError(response.status, problem);
      }
      onConnection?.("open");
      if (!response.body) throw new ApiError(response.status, undefined);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
          const event = parseBlock(block);
          if (event.retry) retryMs = event.retry;
          if (event.id !== undefined) lastEventId = event.id;
          if (event.data === undefined) continue;
          onEvent(event.event, JSON.parse(event.data), { resumed });
          if (event.event === last) return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      // A client error will not mend itself by retrying.
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    onConnection?.("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/** @param {string} block */
function parseBlock(block) {
  /** @type {{ event: string, data?: string, id?: string, retry?: number }} */
  const event = { event: "message" };
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === "event") event.event = value;
    else if (field === "id") event.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
  }
  return event;
}

/**
 * Uploads a CSV file as a dataset with XMLHttpRequest, whose upload events report progress
 * (fetch has no upload progress without a streamed body, which needs HTTP/2 in Chromium).
 * `types` overrides inferred column types (`?types=col:numeric,...`).
 * @param {File} file
 * @param {{ name: string, types?: Record<string, string>, onProgress?: (loaded: number, total: number) => void }} options
 * @returns {Promise<import("./types.js").Dataset>}
 */
export function uploadDataset(file, { name, types, onProgress }) {
  const query = new URLSearchParams({ name });
  const overrides = Object.entries(types ?? {}).map(([column, type]) => `${column}:${type}`);
  if (overrides.length > 0) query.set("types", overrides.join(","));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/datasets?${query}`);
    xhr.setRequestHeader("accept", "application/json");
    for (const [header, value] of Object.entries(authHeaders()))
      xhr.setRequestHeader(header, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      /** @type {any} */
      let data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        if (xhr.status === 401) document.dispatchEvent(new CustomEvent("nnserve:unauthenticated"));
        reject(new ApiError(xhr.status, data));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { detail: "The upload failed: the server could not be reached." })),
    );
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
