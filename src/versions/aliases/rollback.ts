/**
 * Where a rollback goes, read from the alias's own history: each set or move pushes its version
 * on a stack, a removal pushes "none", and each rollback pops the top. The version under the top
 * is the one the alias held before; so rolling back twice goes back two steps, and a rollback
 * after a removal puts the alias back.
 */
export interface AliasStep {
  kind: string;
  toVersion: number | null;
}

/** The version to roll back to, or undefined when there is none (the alias is at its first). */
export function rollbackTarget(steps: readonly AliasStep[]): number | undefined {
  const stack: (number | null)[] = [];
  for (const step of steps) {
    if (step.kind === "alias_set" || step.kind === "alias_moved") stack.push(step.toVersion);
    else if (step.kind === "alias_removed") stack.push(null);
    else if (step.kind === "rollback") stack.pop();
  }
  return stack.length >= 2 ? (stack.at(-2) ?? undefined) : undefined;
}
