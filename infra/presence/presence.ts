/**
 * Who is connected to the WebSocket feed, across every API process. An API process reports its sockets; any
 * process (the notification worker deciding on an offline digest, for one) asks `isOnline`. A process that dies
 * stops heartbeating, and its sockets count as gone within about two heartbeat intervals.
 */
export interface Presence {
  /** Whether the person has at least one feed socket open on any API process (heartbeat not expired). */
  isOnline(userId: string): Promise<boolean>;
  /** One more socket of this person on this process; true when they were online nowhere before it. */
  socketOpened(userId: string): Promise<boolean>;
  /** One socket of this person on this process closed; true when they are now online nowhere. */
  socketClosed(userId: string): Promise<boolean>;
  /** Stops heartbeating and withdraws this process's sockets. */
  close(): Promise<void>;
}
