import type { Logger } from 'pino';
import type { FeedPublisher } from '../../infra/feed/ports.js';
import type { PgProjection } from '../projection.js';
import type { FactsOf } from './feedFacts.js';
import { FeedEventTypes, framesOf } from './frames.js';

export interface FeedProjectionDeps {
  publisher: FeedPublisher;
  factsOf: FactsOf;
  logger: Logger;
}

/**
 * The feed's one publisher: run by the projection runner like a read model, so exactly one process holds it (its
 * lease) and it resumes from its checkpoint after a crash or a takeover. Each event's frames go to the bus per
 * person, with the event's position; the API processes holding those people's sockets write them out. A batch
 * published twice (a crash before the checkpoint moved) is harmless: every socket drops positions it has passed.
 *
 * When the bus is down the frames are not published live (logged, not parked): clients missed them, and get them
 * from the event store when they reconnect with `?since=`. Its version must not change without need: a new version
 * starts from the first event and publishes the whole history again (sockets drop it, but Redis carries it).
 */
export function feedProjection(deps: FeedProjectionDeps): PgProjection {
  return {
    name: 'feed',
    version: 1,
    // Published as soon as read, with no transaction open around it; a batch published twice is harmless.
    sideEffectsOnly: true,
    filter: { eventTypes: FeedEventTypes },
    async apply(_em, events) {
      const facts = await deps.factsOf(events);
      const messages = events.flatMap((event) =>
        framesOf(event, facts.get(event)).map((delivery) => ({
          userId: delivery.userId,
          message: { position: delivery.position, frames: delivery.frames.map((frame) => JSON.stringify(frame)) },
        })),
      );
      try {
        await deps.publisher.publish(messages);
      } catch (error) {
        deps.logger.warn(
          {
            err: (error as Error).message,
            from: events[0]?.position.toString(),
            to: events.at(-1)?.position.toString(),
          },
          'feed frames not published live (the bus is down): clients replay them with ?since=',
        );
      }
    },
    async reset() {},
  };
}
