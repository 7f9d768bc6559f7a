-- pgbench: one event_store.append_batch call of :items appends (new streams) of :events events each,
-- the statement the adapter sends (-D items=8 -D events=1 mimics 16 callers sharing 2 batches).
SELECT count(*) FROM event_store.append_batch(
  ARRAY(SELECT 'Bench-' || gen_random_uuid() FROM generate_series(1, :items)),
  array_fill(-1::bigint, ARRAY[:items]),
  array_fill(:events, ARRAY[:items]),
  ARRAY(SELECT gen_random_uuid() FROM generate_series(1, :items * :events)),
  array_fill('BookingRequested'::text, ARRAY[:items * :events]),
  array_fill(1, ARRAY[:items * :events]),
  array_fill('{"bookingId":"5b0a2f5e-6a43-4a5e-9a52-4b8f2b0e6f11","checkIn":"2026-03-14","checkOut":"2026-03-17","currency":"EUR","guestId":"f0e4c2a3-1d2b-4c5d-8e9f-a0b1c2d3e4f5","guests":2,"note":"late arrival, around 22:00","priceCents":38901,"roomId":"room-1"}'::text, ARRAY[:items * :events]),
  array_fill('{"actorId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","actorRole":"guest","causationId":null,"correlationId":"1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b","occurredAt":"2026-11-25T19:00:00.000Z","requestId":"req-1"}'::text, ARRAY[:items * :events]));
