/** What every route plugin receives, and the documented error responses it can return. */

import { problemSchema } from "../../../platform/validation/problem.ts";
import type { RequestSchemas } from "../../request-schemas.ts";
import type { Services } from "../../services.ts";

export interface RouteOptions {
  services: Services;
  schemas: RequestSchemas;
}

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request; `errors` lists each bad field",
  404: "Not found",
  409: "Conflicts with the resource's current state",
  413: "Body larger than the configured limit",
  415: "Body is not application/json",
  422: "Idempotency-Key reused with a different body",
  429: "The API key is past its request rate or its limit of queued and running jobs",
  503: "A dependency is unavailable; retry later",
};

/** OpenAPI entries for error statuses, all RFC 9457 problem documents. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: DESCRIPTIONS[status] ?? "Error",
        content: { "application/problem+json": { schema: problemSchema } },
      },
    ]),
  );
}
