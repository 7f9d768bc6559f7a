/**
 * The feed's fan-out between processes (ARCHITECTURE.md §5): the one publisher (the feed projection, wherever
 * its lease is held) hands each person's frames to the bus; every API process listens for the people it holds
 * sockets of. A message is one event's frames for one person, already JSON, under the event's position (null for
 * presence frames), so an API process forwards the text without parsing it.
 */
export interface FeedMessage {
  position: bigint | null;
  /** Each frame's JSON text, in order. */
  frames: readonly string[];
}

export interface FeedPublisher {
  /** Hands the messages to the bus, in order per person. Rejects when the bus cannot take them. */
  publish(messages: ReadonlyArray<{ userId: string; message: FeedMessage }>): Promise<void>;
}

export interface FeedSubscriber {
  /**
   * Messages for `userId` published from the moment the returned promise resolves reach `listener`, in order.
   * The returned function stops listening.
   */
  listen(userId: string, listener: (message: FeedMessage) => void): Promise<() => void>;
  /**
   * `listener` runs when the bus connection came back after it was lost (and every listened person is subscribed
   * again): messages published meanwhile were missed, so a socket catches up from the store.
   */
  onResumed(listener: () => void): () => void;
  close(): Promise<void>;
}
