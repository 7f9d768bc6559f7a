import { MemoryEventStore } from '../../../infra/eventStore/memory/memoryEventStore.js';
import { eventStoreContract } from '../../contracts/eventStore.contract.js';

eventStoreContract('memory', async () => {
  const store = new MemoryEventStore();
  return { store, eventIdsUniqueAcrossStreams: true, openAnother: async () => store, cleanup: () => store.close() };
});
