/**
 * The floor under `npm start` on the embedded database: Node and tsx start, PGlite opens the
 * directory in PGLITE_DATA_DIR (initdb when it is empty), answers one query and closes. Every
 * start on PGlite pays at least this; the rest is migration, load and the API.
 */
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create({ dataDir: process.env.PGLITE_DATA_DIR });
await db.query('select 1');
await db.close();
