/** The fixed amenity catalogue (what an exam candidate looks for first: a desk, quiet, wifi). */
export const Amenities = [
  'wifi',
  'desk',
  'quiet_hours',
  'kitchen',
  'private_bathroom',
  'washing_machine',
  'heating',
  'air_conditioning',
  'parking',
  'linens',
  'towels',
  'desk_lamp',
  'blackout_curtains',
  'printer',
  'breakfast',
  'near_public_transport',
  'bike_storage',
  'step_free_access',
  'lockable_room',
  'coffee_machine',
] as const;
export type Amenity = (typeof Amenities)[number];

export function isAmenity(value: string): value is Amenity {
  return (Amenities as readonly string[]).includes(value);
}
