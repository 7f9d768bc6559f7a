/** Reads an event stored at `fromVersion` as `fromVersion + 1`; pure, applied on every read. */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: unknown): unknown;
}
