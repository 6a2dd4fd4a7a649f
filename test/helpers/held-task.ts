/**
 * A task that finishes when the test says so (`release`), and tells whether it began
 * (`state.began`): for gates and queues that must hold or refuse work.
 */
export function held<T>(value: T) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const state = { began: false };
  return { task: async () => (state.began = true, await done, value), release, state };
}
