// The ssegate reference web client: a billing run's send progress, streamed with fetch (so the
// request can carry Authorization and X-Workspace-Id, CLI-1), parsed with the WHATWG rules (CLI-2),
// reconnected with capped jittered backoff (CLI-5 to CLI-9), and polled when streaming fails
// (CLI-10). Plain JavaScript, no build step. The parser and the subscription are plain functions
// with no DOM access; the page code at the bottom wires them to the form.
"use strict";

// ---------------------------------------------------------------------------------------------
// WHATWG event-stream parser (HTML §9.2.6). Rule numbers P1... as in
// shared/notes/sse-wire-rules.md §1.

class SseParser {
  constructor() {
    // P1: always UTF-8, invalid bytes become U+FFFD. P2: TextDecoder strips exactly one leading
    // BOM (ignoreBOM false), and a second one stays part of the first field name.
    this.decoder = new TextDecoder("utf-8");
    this.pending = ""; // text after the last line terminator
    this.afterCr = false; // the last chunk ended in CR: a leading LF of the next one belongs to it
    this.data = [];
    this.type = "";
    this.blockId = null;
    this.lastEventId = "";
    this.retry = null;
  }

  feed(bytes) {
    return this.feedText(this.decoder.decode(bytes, { stream: true }));
  }

  // End of stream: P19, a partial event (and its id) is discarded.
  close() {
    const events = this.feedText(this.decoder.decode());
    this.pending = "";
    this.resetBlock();
    return events;
  }

  feedText(text) {
    if (!text) return [];
    if (this.afterCr) {
      // P3: a CRLF split across two reads is one terminator. (The origin client normalised each
      // chunk on its own and so saw two line ends here, which dispatched events early.)
      this.afterCr = false;
      if (text[0] === "\n") text = text.slice(1);
    }
    if (text.includes("\r")) {
      this.afterCr = text.endsWith("\r");
      // P3/P4: only CRLF, LF and CR end lines; U+2028 and U+0085 are data.
      text = text.replace(/\r\n?/g, "\n");
    }
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop();
    const events = [];
    for (const line of lines) {
      if (line === "") {
        const event = this.dispatch(); // P5
        if (event) events.push(event);
      } else if (line[0] !== ":") {
        this.field(line); // P6: comment lines are ignored
      }
    }
    return events;
  }

  field(line) {
    // P7: split at the first colon and drop one leading space; P8: no colon, empty value.
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    // P9: names are case-sensitive, unknown ones ignored.
    if (name === "data") this.data.push(value); // P11
    else if (name === "event") this.type = value; // P10
    else if (name === "id") {
      if (!value.includes("\0")) this.blockId = value; // P12
    } else if (name === "retry" && /^[0-9]+$/.test(value)) {
      this.retry = parseInt(value, 10); // P13: ASCII digits only, so "+5" and "10x" are ignored
    }
  }

  dispatch() {
    if (this.blockId !== null) this.lastEventId = this.blockId; // P14, before the data check
    if (this.data.length === 0) {
      // P15: no data, no event (the origin client delivered named events without data).
      this.resetBlock();
      return null;
    }
    const event = {
      type: this.type || "message", // P17
      data: this.data.join("\n"), // P11, P16
      id: this.blockId,
      lastEventId: this.lastEventId, // P18
    };
    this.resetBlock();
    return event;
  }

  resetBlock() {
    this.data = [];
    this.type = "";
    this.blockId = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Payload checks: the types of contract billing.invoice-send-progress@1, tolerant of unknown
// members (CLI-4). Returns a list of problems, empty when the payload is usable.

const COUNTS = [
  "expectedInvoiceCount", "processedInvoiceCount", "pendingCount", "queuedCount", "sentCount",
  "deliveredCount", "delayedCount", "failedCount", "bouncedCount",
];

function progressProblems(payload) {
  const problems = [];
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return ["payload is not an object"];
  }
  if (typeof payload.billingRunId !== "string") problems.push("billingRunId is not a string");
  if (typeof payload.month !== "string" || !/^[0-9]{4}-(0[1-9]|1[0-2])$/.test(payload.month)) {
    problems.push("month is not YYYY-MM");
  }
  if (typeof payload.isComplete !== "boolean") problems.push("isComplete is not a boolean");
  const utc = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?Z$/;
  if (typeof payload.generatedAt !== "string" || !utc.test(payload.generatedAt)) {
    problems.push("generatedAt is not an RFC 3339 date-time ending in Z");
  }
  const progress = payload.progress;
  if (progress !== null) {
    if (typeof progress !== "object" || Array.isArray(progress)) {
      problems.push("progress is neither an object nor null");
    } else {
      for (const name of COUNTS) {
        if (!Number.isInteger(progress[name]) || progress[name] < 0) {
          problems.push(`progress.${name} is not a non-negative integer`);
        }
      }
      for (const name of ["isComplete", "hasFailures"]) {
        if (typeof progress[name] !== "boolean") problems.push(`progress.${name} is not a boolean`);
      }
    }
  }
  return problems;
}

// The share of the run that is done, 0 to 1: invoices neither pending nor queued (BIL-13).
function completion(payload) {
  const progress = payload.progress;
  if (!progress || progress.expectedInvoiceCount === 0) return payload.isComplete ? 1 : 0;
  const done = progress.expectedInvoiceCount - progress.pendingCount - progress.queuedCount;
  return Math.max(0, Math.min(1, done / progress.expectedInvoiceCount));
}

// ---------------------------------------------------------------------------------------------
// Backoff (CLI-5): delay of attempt n = min(cap, initial · factor^(n−1) · j), j in [1−r, 1+r].

const DEFAULT_POLICY = {
  maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 8000, factor: 2, jitter: 0.2,
};

function backoffDelay(policy, attempt, random = Math.random) {
  const spread = 1 - policy.jitter + 2 * policy.jitter * random();
  const raw = policy.initialDelayMs * Math.pow(policy.factor, attempt - 1) * spread;
  return raw >= policy.maxDelayMs ? policy.maxDelayMs : Math.round(raw);
}

class SseFailure extends Error {
  // kind: network | status | content-type | interrupted | silence | error-event
  constructor(kind, message, { status = null, retryable = false, retryAfterMs = null } = {}) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// subscribeSse(url, options) -> { close() }. Callbacks: onEvent({type, payload, id}),
// onOpen(connectionNumber), onError(failure), onReconnect(attempt, delayMs), onClose({reason,
// error}). reason: completed | closed | error-event | rejected | gave-up. The table of what
// happens after each end is that of the Python client (reference/client/_subscribe.py).
function subscribeSse(url, options) {
  const policy = { ...DEFAULT_POLICY, ...(options.policy || {}) };
  const silenceMs = 2 * (options.heartbeatMs || 30000); // CLI-11
  const controller = new AbortController();
  const noop = () => {};
  const onEvent = options.onEvent || noop;
  const onOpen = options.onOpen || noop;
  const onError = options.onError || noop;
  const onReconnect = options.onReconnect || noop;
  const onClose = options.onClose || noop;
  let closed = false;
  let retryMs = null;
  let lastEventId = "";
  let opens = 0;
  let attempts = 0;

  async function connectOnce() {
    const headers = { Accept: "text/event-stream", ...(options.headers || {}) };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    let response;
    try {
      response = await fetch(url, { headers, cache: "no-store", signal: controller.signal });
    } catch (error) {
      throw new SseFailure("network", `cannot reach the stream: ${error.message}`, { retryable: true });
    }
    if (response.status !== 200) {
      let title = "";
      try { title = (await response.json()).title || ""; } catch (_) { /* not a problem body */ }
      const status = response.status;
      const retryAfter = response.headers.get("Retry-After");
      throw new SseFailure("status", `HTTP ${status}${title ? ": " + title : ""}`, {
        status,
        retryable: status >= 500 || [408, 425, 429].includes(status), // CLI-5, CLI-8
        retryAfterMs: /^[0-9]+$/.test(retryAfter || "") ? 1000 * parseInt(retryAfter, 10) : null,
      });
    }
    const contentType = response.headers.get("Content-Type") || "";
    if (contentType.split(";")[0].trim().toLowerCase() !== "text/event-stream") {
      response.body && response.body.cancel().catch(noop);
      throw new SseFailure("content-type",
        `expected Content-Type text/event-stream, got ${contentType || "none"}`);
    }
    opens += 1;
    attempts = 0; // CLI-6
    onOpen(opens);
    const reader = response.body.getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        let watchdog;
        const silence = new Promise((_, reject) => {
          watchdog = setTimeout(() => reject(new SseFailure("silence",
            `no byte for ${silenceMs} ms, twice the heartbeat period`, { retryable: true })),
          silenceMs);
        });
        let chunk;
        try {
          chunk = await Promise.race([reader.read(), silence]);
        } catch (error) {
          if (error instanceof SseFailure) throw error;
          throw new SseFailure("interrupted", `the stream broke: ${error.message}`, { retryable: true });
        } finally {
          clearTimeout(watchdog);
        }
        if (chunk.done) break;
        const events = parser.feed(chunk.value);
        if (parser.retry !== null) retryMs = parser.retry;
        for (const event of events) {
          lastEventId = event.lastEventId;
          const end = deliver(event);
          if (end) return end;
        }
      }
      parser.close();
    } finally {
      reader.cancel().catch(noop);
    }
    throw new SseFailure("interrupted",
      "the stream ended without a timeout event, a complete snapshot or an error event",
      { retryable: true });
  }

  // Returns "completed" or "timeout" for a planned end, throws for an error event.
  function deliver(event) {
    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch (_) {
      onError(new SseFailure("invalid", `invalid ${event.type} event: data is not JSON`));
      return null;
    }
    if (event.type === options.eventName) {
      const problems = progressProblems(payload);
      if (problems.length) {
        onError(new SseFailure("invalid", `invalid ${event.type} event: ${problems.join("; ")}`));
        return null;
      }
      onEvent({ type: "snapshot", payload, id: event.id });
      return payload.isComplete ? "completed" : null; // BIL-3
    }
    if (event.type === "heartbeat" || event.type === "timeout") {
      onEvent({ type: event.type, payload, id: event.id });
      return event.type === "timeout" ? "timeout" : null;
    }
    if (event.type === "error") {
      const detail = payload && typeof payload === "object" ? `${payload.code}: ${payload.message}` : String(payload);
      throw new SseFailure("error-event", `server error event: ${detail}`);
    }
    onError(new SseFailure("invalid", `unknown event name ${event.type}`));
    return null;
  }

  async function run() {
    while (!closed) {
      let end;
      try {
        end = await connectOnce();
      } catch (failure) {
        if (closed) break;
        const error = failure instanceof SseFailure ? failure
          : new SseFailure("network", String(failure), { retryable: true });
        onError(error);
        if (!error.retryable) {
          return { reason: error.kind === "error-event" ? "error-event" : "rejected", error };
        }
        if (attempts >= policy.maxAttempts) return { reason: "gave-up", error };
        attempts += 1;
        let delay = backoffDelay(policy, attempts);
        const floor = Math.max(retryMs || 0, error.retryAfterMs || 0); // CLI-7
        delay = Math.max(delay, floor);
        onReconnect(attempts, delay);
        await sleep(delay, controller.signal);
        continue;
      }
      if (end === "completed") return { reason: "completed", error: null };
      // A timeout event: reconnect at once for a fresh snapshot (CLI-9), after `retry` if sent.
      if (retryMs) await sleep(retryMs, controller.signal);
    }
    return { reason: "closed", error: null };
  }

  run().then((ending) => onClose(closed ? { reason: "closed", error: null } : ending));
  return {
    close() { // CLI-12: cancels the open request and any pending reconnection
      closed = true;
      controller.abort();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Following one billing run: stream first, polling fallback (CLI-10).

function followRun({ baseUrl, token, workspace, runId, intervalMs = 1500, pollLimitMs = 90000,
  policy, heartbeatMs, onProgress, onState, onLog, onDone }) {
  const headers = { Authorization: `Bearer ${token}`, "X-Workspace-Id": workspace };
  const path = `${baseUrl.replace(/\/+$/, "")}/classes/billing/runs/${encodeURIComponent(runId)}/send-progress`;
  let stopped = false;
  let subscription = null;
  let pollTimer = null;

  function finish(outcome) {
    if (stopped) return;
    stopped = true;
    if (pollTimer) clearTimeout(pollTimer);
    onDone(outcome);
  }

  function poll(reason) {
    onState("polling", `streaming failed (${reason}); polling every ${intervalMs} ms`);
    onLog(`fallback to polling: ${reason}`);
    const started = Date.now();
    const once = async () => {
      if (stopped) return;
      try {
        const response = await fetch(path, { headers, cache: "no-store" });
        if ([401, 403, 404].includes(response.status) || response.status === 400) {
          finish({ ok: false, message: await failureText(response) });
          return;
        }
        if (response.ok) {
          const payload = await response.json();
          const problems = progressProblems(payload);
          if (problems.length) {
            onLog(`invalid polling answer: ${problems.join("; ")}`);
          } else {
            onProgress(payload, "polling");
            if (payload.isComplete) { // stop polling at completion
              finish({ ok: true, message: "complete (polling)" });
              return;
            }
          }
        } else {
          onLog(`poll answered HTTP ${response.status}`);
        }
      } catch (error) {
        onLog(`poll failed: ${error.message}`);
      }
      if (Date.now() - started + intervalMs > pollLimitMs) {
        finish({ ok: false, message: "Timed out waiting for invoice send results" });
        return;
      }
      pollTimer = setTimeout(once, intervalMs);
    };
    once();
  }

  onState("connecting", "opening the stream");
  subscription = subscribeSse(`${path}/stream`, {
    headers, policy, heartbeatMs, eventName: "billing.invoice-send-progress",
    onOpen: (n) => { onState("streaming", ""); onLog(`stream open (connection ${n})`); },
    onEvent: (event) => {
      if (event.type === "snapshot") onProgress(event.payload, "stream");
      else onLog(`${event.type} event`);
    },
    onError: (error) => onLog(error.message),
    onReconnect: (attempt, delay) => {
      onState("reconnecting", `reconnecting in ${delay} ms (attempt ${attempt})`);
      onLog(`reconnect attempt ${attempt} in ${delay} ms`);
    },
    onClose: ({ reason, error }) => {
      onLog(`stream closed: ${reason}`);
      if (stopped) return;
      if (reason === "completed") finish({ ok: true, message: "complete" });
      else if (reason === "closed") finish({ ok: false, message: "stopped" });
      else if (error && [400, 401, 403, 404].includes(error.status)) {
        // CLI-8: not worth a retry, and the polling endpoint would answer the same (BIL-4).
        finish({ ok: false, message: describeStatus(error.status, error.message) });
      } else {
        poll(error ? error.message : reason);
      }
    },
  });

  return {
    stop() {
      if (subscription) subscription.close();
      finish({ ok: false, message: "stopped" });
    },
  };
}

function describeStatus(status, message) {
  const meaning = {
    400: "the request is malformed (check the workspace id)",
    401: "authentication failed (check the token)",
    403: "not a member of this workspace",
    404: "no such billing run in this workspace",
  }[status];
  return meaning ? `${meaning} – ${message}` : message;
}

async function failureText(response) {
  let title = "";
  try { title = (await response.json()).title || ""; } catch (_) { /* not a problem body */ }
  return describeStatus(response.status, `HTTP ${response.status}${title ? ": " + title : ""}`);
}

// ---------------------------------------------------------------------------------------------
// The page.

(function page() {
  if (typeof document === "undefined") return;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const param = (name) => fragment.get(name) || params.get(name) || "";
  const numberParam = (name) => (/^[0-9]+$/.test(param(name)) ? parseInt(param(name), 10) : undefined);
  let current = null;

  $("base-url").value = param("baseUrl") || window.location.origin;
  $("token").value = param("token");
  $("workspace").value = param("workspace");
  $("run").value = param("run");
  const now = new Date();
  $("month").value = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;

  function log(text) {
    const item = document.createElement("li");
    item.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
    $("log").appendChild(item);
    while ($("log").children.length > 200) $("log").firstChild.remove();
  }

  function setState(state, message) {
    document.body.dataset.state = state;
    $("status").textContent = state;
    if (message !== undefined) $("message").textContent = message;
  }

  function render(payload, source) {
    const share = completion(payload);
    const percent = Math.round(share * 1000) / 10;
    $("bar-fill").style.width = `${percent}%`;
    $("bar").setAttribute("aria-valuenow", String(percent));
    $("percent").textContent = `${percent} %`;
    $("source").textContent = `source: ${source}`;
    $("run-label").textContent = payload.billingRunId;
    $("month-label").textContent = payload.month;
    for (const cell of document.querySelectorAll("[data-count]")) {
      cell.textContent = payload.progress ? String(payload.progress[cell.dataset.count]) : "–";
    }
    if (document.body.dataset.state !== "polling") setState("streaming");
    const p = payload.progress;
    log(`${source}: ${p ? `${p.pendingCount} pending, ${p.queuedCount} queued of ${p.expectedInvoiceCount}` : "not sent"}${payload.isComplete ? ", complete" : ""}`);
  }

  function settings() {
    return {
      baseUrl: $("base-url").value.trim(),
      token: $("token").value.trim(),
      workspace: $("workspace").value.trim(),
    };
  }

  function watch(runId) {
    if (current) current.stop();
    const { baseUrl, token, workspace } = settings();
    $("stop").disabled = false;
    $("log").replaceChildren();
    log(`watching ${runId}`);
    const policy = {};
    for (const name of ["maxAttempts", "initialDelayMs", "maxDelayMs"]) {
      if (numberParam(name) !== undefined) policy[name] = numberParam(name);
    }
    current = followRun({
      baseUrl, token, workspace, runId, policy,
      intervalMs: numberParam("intervalMs") || 1500,
      pollLimitMs: numberParam("pollLimitMs") || 90000,
      heartbeatMs: numberParam("heartbeatMs"),
      onProgress: render,
      onState: setState,
      onLog: log,
      onDone: ({ ok, message }) => {
        setState(ok ? "complete" : (message === "stopped" ? "idle" : "error"), message);
        log(`done: ${message}`);
        $("stop").disabled = true;
      },
    });
  }

  $("connection").addEventListener("submit", (event) => {
    event.preventDefault();
    const runId = $("run").value.trim();
    if (!runId) { setState("error", "enter a run id, or create a run"); return; }
    watch(runId);
  });

  $("stop").addEventListener("click", () => { if (current) current.stop(); });

  $("create").addEventListener("click", async () => {
    const { baseUrl, token, workspace } = settings();
    if (!token || !workspace) { setState("error", "enter a token and a workspace first"); return; }
    setState("connecting", "creating a run");
    try {
      const response = await fetch(`${baseUrl.replace(/\/+$/, "")}/classes/billing/runs`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`, "X-Workspace-Id": workspace,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({
          month: $("month").value.trim(),
          invoiceCount: parseInt($("invoice-count").value, 10),
          sendInvoices: true,
        }),
      });
      if (response.status !== 201) {
        setState("error", await failureText(response));
        return;
      }
      const { billingRunId } = await response.json();
      $("run").value = billingRunId;
      watch(billingRunId);
    } catch (error) {
      setState("error", `cannot create a run: ${error.message}`);
    }
  });

  if (param("token") && param("workspace") && param("run")) watch(param("run"));
})();
