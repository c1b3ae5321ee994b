/** Where a rollback goes, from an alias's own history read as a stack. */
import { describe, expect, it } from "vitest";
import { type AliasStep, rollbackTarget } from "../../../src/versions/aliases/rollback.ts";

const set = (v: number): AliasStep => ({ kind: "alias_set", toVersion: v });
const move = (v: number): AliasStep => ({ kind: "alias_moved", toVersion: v });
const removed: AliasStep = { kind: "alias_removed", toVersion: null };
const rollback = (v: number): AliasStep => ({ kind: "rollback", toVersion: v });

describe("rollbackTarget", () => {
  it("has nothing to go back to from the alias's first version, or without history", () => {
    expect(rollbackTarget([])).toBeUndefined();
    expect(rollbackTarget([set(1)])).toBeUndefined();
  });

  it("goes back one step per rollback, not back and forth", () => {
    const history = [set(1), move(2), move(3)];
    expect(rollbackTarget(history)).toBe(2);
    expect(rollbackTarget([...history, rollback(2)])).toBe(1);
    expect(rollbackTarget([...history, rollback(2), rollback(1)])).toBeUndefined();
  });

  it("after a rollback and a new move, goes back to the version rolled back to", () => {
    expect(rollbackTarget([set(1), move(2), move(3), rollback(2), move(4)])).toBe(2);
  });

  it("puts a removed alias back, and stops at a removal further back", () => {
    expect(rollbackTarget([set(1), move(2), removed])).toBe(2);
    expect(rollbackTarget([set(1), removed, set(3)])).toBeUndefined();
  });
});
