import { demoTowns, seedDemo } from './demoData.js';

const rooms = Number(process.env.DEMO_ROOMS ?? 3000);
const started = Date.now();
try {
  const result = await seedDemo({
    rooms,
    bookings: Number(process.env.DEMO_BOOKINGS ?? 400),
    seed: Number(process.env.DEMO_SEED ?? 42),
    today: new Date().toISOString().slice(0, 10),
  });
  const venues = demoTowns.reduce((n, town) => n + town.venues.length, 0);
  process.stdout.write(
    `demo data: ${result.rooms} rooms around ${venues} exam venues in ${demoTowns.length} towns, ${result.bookings} bookings (${Date.now() - started} ms)\n`,
  );
  process.exit(0);
} catch (error) {
  process.stderr.write(`demo seeding failed: ${(error as Error).stack}\n`);
  process.exit(1);
}
