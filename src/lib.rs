//! Inventory Sync engine.
//!
//! One stock ledger for every SKU across warehouses, and the logic that keeps every sales channel
//! showing the right quantity. The crate builds two things from the same code:
//!
//! * an `rlib` whose pure core (stock math, signatures) and stores are tested with `cargo test`;
//! * a `cdylib`, the PHP extension `inventory_sync`, whose boundary lives in [`php`] — the only
//!   module that knows about `ext-php-rs`.
//!
//! See `ARCHITECTURE.md` for the layers and what each may touch.
#![deny(missing_docs)]
#![cfg_attr(windows, feature(abi_vectorcall))]

pub mod channels;
pub mod crypto;
pub mod error;
pub mod gate;
pub mod inbound;
pub mod intake;
pub mod inventory;
pub mod ledger;
pub mod signature;
pub mod stock;
pub mod sync;

#[doc(hidden)]
pub mod php;

pub use error::{Error, Result};

/// The extension's version, reported by `phpversion('inventory_sync')` and checked by the plugin's
/// requirement gate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
