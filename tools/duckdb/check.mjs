// Loads a research export into DuckDB the way a researcher would
// (read_csv_auto, read_parquet, read_json_auto) and prints, as JSON, each
// table's row counts and column types from the CSV and the Parquet file,
// and the number of events. Usage: node check.mjs EXPORT_DIR TABLE...
// Any load error exits non-zero with DuckDB's message on stderr.
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

const [dir, ...tables] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node check.mjs EXPORT_DIR TABLE...');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();

async function rows(sql) {
  const reader = await db.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}

async function describe(source) {
  const cols = await rows(`DESCRIBE SELECT * FROM ${source}`);
  const [{ n }] = await rows(`SELECT count(*)::BIGINT AS n FROM ${source}`);
  return { rows: Number(n), columns: cols.map((c) => ({ name: c.column_name, type: c.column_type })) };
}

const out = { tables: {} };
for (const t of tables) {
  out.tables[t] = {
    csv: await describe(`read_csv_auto(${q(path.join(dir, t + '.csv'))}, header=true)`),
    parquet: await describe(`read_parquet(${q(path.join(dir, t + '.parquet'))})`),
  };
}
out.events = await describe(`read_json_auto(${q(path.join(dir, 'events.ndjson'))}, format='newline_delimited')`);
console.log(JSON.stringify(out));
