/** A streaming client for text/event-stream responses, reading them as they arrive (fetch). */

export interface StreamEvent {
  event: string;
  id?: string;
  data: unknown;
  /** ms since the request was sent. */
  at: number;
}

export interface EventStreamResult {
  status: number;
  headers: Headers;
  events: StreamEvent[];
  /** Comment lines (": heartbeat"), without the colon. */
  comments: string[];
  /** The body when the response was not an event stream (a problem). */
  body?: unknown;
}

/**
 * Reads the stream until the server closes it, `until` holds after an event, or `signal`
 * aborts (then returns what arrived so far).
 */
export async function readEventStream(
  url: string,
  {
    headers = {},
    until,
    onEvent,
  }: {
    headers?: Record<string, string>;
    until?: (events: StreamEvent[]) => boolean;
    onEvent?: (event: StreamEvent) => void;
  } = {},
): Promise<EventStreamResult> {
  const started = Date.now();
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const result: EventStreamResult = {
    status: response.status,
    headers: response.headers,
    events: [],
    comments: [],
  };
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    const text = await response.text();
    result.body =
      text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
    return result;
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) {
            result.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(":");
          fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
        }
        if (fields.data === undefined) continue;
        const event: StreamEvent = {
          event: fields.event ?? "message",
          data: JSON.parse(fields.data),
          at: Date.now() - started,
          ...(fields.id === undefined ? {} : { id: fields.id }),
        };
        result.events.push(event);
        onEvent?.(event);
        if (until?.(result.events)) {
          // Cancelling the body is what makes fetch close the connection, as a browser would.
          await reader.cancel();
          controller.abort();
          return result;
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return result;
}
