/**
 * Ready versions quickly, for the lifecycle tests (aliases, traffic): one trained XOR version
 * exported as a portable file, then imported as many times as needed (an import is ready at once).
 */
import { expect } from "vitest";
import type { TrainAccepted } from "../../src/training/request.ts";
import { quickXorRequest } from "./requests.ts";
import { type HttpClient, waitForJob } from "./server.ts";

/** Model `name` with `count` ready versions, 1..count. */
export async function readyVersions(http: HttpClient, name: string, count: number): Promise<void> {
  const accepted = await http.post<TrainAccepted>("/train", quickXorRequest(name));
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const job = await waitForJob(http, accepted.body.jobId);
  expect(job.status).toBe("succeeded");
  const file = await http.get<unknown>(`/models/${name}/versions/1/export`);
  expect(file.status).toBe(200);
  for (let v = 2; v <= count; v++) {
    const imported = await http.post(`/models/${name}/import`, file.body);
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  }
}

export function put<T = unknown>(http: HttpClient, path: string, json: unknown) {
  return http.request<T>("PUT", path, { json });
}
