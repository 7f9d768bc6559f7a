import { pgRoomSearchReader, pgRoomSearchWriter, poolSql } from '../../../infra/search/postgres/pgRoomSearch.js';
import { roomIndexContract } from '../../contracts/roomIndex.contract.js';
import { createTestDatabase } from '../../support/database.js';

roomIndexContract('PostgreSQL', {
  async create() {
    const db = await createTestDatabase(4);
    const sql = poolSql(db.pool);
    return { writer: pgRoomSearchWriter(sql), reader: pgRoomSearchReader(sql), drop: () => db.drop() };
  },
});
