//! The Rust↔PHP boundary: the only module that imports `ext_php_rs`.
//!
//! It converts PHP values to Rust types and back, maps every [`crate::Error`] to one PHP
//! exception class (in [`exceptions`]), and never panics: every exported function returns a
//! `PhpResult`.

use ext_php_rs::prelude::*;
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

mod access;
mod connections;
mod convert;
pub mod exceptions;
mod ledger;
mod signature;
mod stock;
mod sync;

/// `phpinfo()` section of the extension.
extern "C" fn module_info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("inventory_sync support", "enabled");
    info_table_row!("version", crate::VERSION);
    info_table_row!("ledger backend", "sqlite (bundled)");
    info_table_end!();
}

/// The current time in unix seconds: the boundary is where the clock is read; the core takes time
/// as a parameter.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The PHP module entry: everything the extension exports is registered here.
#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    let module = module
        .name("inventory_sync")
        .version(crate::VERSION)
        .info_function(module_info);
    let module = exceptions::register(module);
    let module = signature::register(module);
    let module = stock::register(module);
    let module = sync::register(module);
    module.class::<ledger::Ledger>()
}
