/** `?window=`: a whole number of minutes, hours or days ("15m", "1h", "7d"), up to 30 days. */
import { validationError } from "../../platform/errors.ts";

const UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MAX_WINDOW_MS = 30 * UNITS.d;

export function parseWindow(text: string, path = "window"): number {
  const match = /^([1-9][0-9]{0,5})([mhd])$/.exec(text);
  const ms = match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : Number.NaN;
  if (!(ms <= MAX_WINDOW_MS))
    throw validationError(
      [
        {
          path,
          message: `must be a whole number of minutes, hours or days up to 30d, such as 15m, 1h or 7d; got ${JSON.stringify(text)}`,
        },
      ],
      `Invalid window ${JSON.stringify(text)}.`,
    );
  return ms;
}
