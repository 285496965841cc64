// Ctrl-C (SIGINT) and SIGTERM during a long command: the first one asks the work to stop at the next
// safe point (the current image finishes and the results are written); a second one exits at once.
export interface StopSignals {
  /** Aborted with the signal's name as reason ('SIGINT' or 'SIGTERM'). */
  signal: AbortSignal;
  /** The conventional exit code for the signal received (130 SIGINT, 143 SIGTERM), or null. */
  exitCode(): number | null;
  /** Removes the handlers: signals act as usual again. */
  dispose(): void;
}

const CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function catchStopSignals(onFirst: (name: string) => void = () => {}): StopSignals {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(CODES[name]);
    controller.abort(name);
    onFirst(name);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    exitCode: () => (controller.signal.aborted ? CODES[String(controller.signal.reason)] ?? 1 : null),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
