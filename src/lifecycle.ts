/** What every long-lived part of the server implements; `main.ts` starts them in order and stops them in reverse. */
export interface Lifecycle {
  start(): Promise<void>;
  /** Safe to call twice; removes every listener `start()` added. */
  stop(): Promise<void>;
}
