//! What the store tests need of a MariaDB ledger beyond [`LedgerStore`](crate::ledger::LedgerStore).

use mysql::prelude::Queryable;
use mysql::Value;

use super::{schema, MariaDbLedger};
use crate::ledger::tests::TestStore;

impl TestStore for MariaDbLedger {
    fn execute_raw(&self, sql: &str) {
        self.lock().query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn query_i64(&self, sql: &str) -> i64 {
        let value: Option<Option<i64>> = self.lock().query_first(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        value.flatten().unwrap_or_else(|| panic!("{sql}: no value"))
    }

    /// The rows as SQLite's dump prints them (its `ValueRef`'s `Debug`: `Integer(1)`,
    /// `Text([65])`, `Real(0.5)`, `Null`), generated columns left out, so one state dumps alike on
    /// both backends.
    fn dump(&self) -> Vec<String> {
        let mut conn = self.lock();
        let mut rows = Vec::new();
        for table in crate::ledger::tests::DUMPED_TABLES {
            let table = format!("{}{table}", self.prefix);
            let columns: Vec<String> = conn
                .exec(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND EXTRA NOT LIKE '%GENERATED%'
                     ORDER BY ORDINAL_POSITION",
                    (&table,),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            let list = columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            let table_rows: Vec<mysql::Row> = conn
                .exec(format!("SELECT {list} FROM `{table}` ORDER BY 1, 2"), ())
                .unwrap_or_else(|e| panic!("{e}"));
            for row in table_rows {
                let values: Vec<String> = row.unwrap().into_iter().map(sqlite_debug).collect();
                rows.push(format!("{}: {}", &table[self.prefix.len()..], values.join(" | ")));
            }
        }
        rows
    }

    fn schema_version(&self) -> i64 {
        MariaDbLedger::schema_version(self).unwrap_or_else(|e| panic!("{e}"))
    }

    fn latest_schema_version(&self) -> i64 {
        schema::latest_version()
    }
}

/// A value as SQLite's `ValueRef` prints with `{:?}`.
fn sqlite_debug(value: Value) -> String {
    match value {
        Value::NULL => "Null".to_owned(),
        Value::Int(n) => format!("Integer({n})"),
        Value::UInt(n) => format!("Integer({n})"),
        Value::Float(x) => format!("Real({:?})", f64::from(x)),
        Value::Double(x) => format!("Real({x:?})"),
        Value::Bytes(bytes) => format!("Text({bytes:?})"),
        other => panic!("a ledger column holds {other:?}"),
    }
}
