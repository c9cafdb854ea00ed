//! The engine's signature module, compiled on its own for fuzzing.
//!
//! `src/signature.rs` is pure (std, hmac, sha2, hex, base64, thiserror; nothing else from the
//! crate), so the fuzz targets include it directly instead of depending on `inventory_sync`,
//! which would drag in ext-php-rs (bindgen against PHP's headers) and the bundled SQLite. If this
//! stops compiling, the module has grown a dependency it should not have.

#[path = "../../src/signature.rs"]
pub mod signature;
