/**
 * The one clock of the application. Routes, commands, process managers, sweeps and workers read the time
 * from it (domain code gets it from the command), and SQL compares with the time it gives as a parameter,
 * never with the database's `now()`: so a test can move time, and every part of the app sees the same.
 */
export interface Clock {
  now(): Date;
}

/** The machine's time. */
export const systemClock: Clock = { now: () => new Date() };
