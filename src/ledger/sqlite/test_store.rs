//! What the store tests need of an SQLite ledger beyond [`LedgerStore`](crate::ledger::LedgerStore).

use super::{schema, SqliteLedger};
use crate::ledger::tests::TestStore;

impl TestStore for SqliteLedger {
    fn execute_raw(&self, sql: &str) {
        self.lock().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn query_i64(&self, sql: &str) -> i64 {
        self.lock()
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn dump(&self) -> Vec<String> {
        let conn = self.lock();
        let mut rows = Vec::new();
        for table in crate::ledger::tests::DUMPED_TABLES {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .unwrap_or_else(|e| panic!("{e}"));
            let columns = stmt.column_count();
            let table_rows = stmt
                .query_map([], |row| {
                    let values: Vec<String> = (0..columns)
                        .map(|i| row.get_ref(i).map(|v| format!("{v:?}")))
                        .collect::<rusqlite::Result<_>>()?;
                    Ok(format!("{table}: {}", values.join(" | ")))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .unwrap_or_else(|e| panic!("{e}"));
            rows.extend(table_rows);
        }
        rows
    }

    fn schema_version(&self) -> i64 {
        schema::user_version(&self.lock()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn latest_schema_version(&self) -> i64 {
        schema::latest_version()
    }
}
