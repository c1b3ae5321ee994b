/** nnserve's version, from package.json: what the server reports and exported files record. */
import { readFileSync } from "node:fs";

export const NNSERVE_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;
