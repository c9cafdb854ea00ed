//! The PHP exception tree and the one place where Rust errors become PHP exceptions.
//!
//! ```text
//! InventorySync\Exception\SyncException            (extends \Exception)
//! ├── ValidationException    bad input; nothing changed            code 1
//! ├── SignatureException     signature missing/malformed/mismatch  code 2
//! ├── LedgerException        the ledger store failed               code 3
//! │   ├── NotFoundException  unknown SKU, location, channel        code 4
//! │   └── ConflictException  guarded request refused (stock)       code 5
//! └── ChannelException       a channel failed                      code 6
//! ```
//! The numeric code lets PHP callers switch on a stable value; the class carries the meaning.

use ext_php_rs::builders::ModuleBuilder;
use ext_php_rs::class::RegisteredClass;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::zend::ce;

use crate::error::{Error, ErrorKind};

/// Base class of every exception the extension throws.
#[php_class]
#[php(name = "InventorySync\\Exception\\SyncException")]
#[php(extends(ce = ce::exception, stub = "\\Exception"))]
#[derive(Default)]
pub struct SyncException;

/// Input failed validation; the message names the field. Nothing was changed.
#[php_class]
#[php(name = "InventorySync\\Exception\\ValidationException")]
#[php(extends(SyncException))]
#[derive(Default)]
pub struct ValidationException;

/// A signature was missing, malformed, did not match any configured secret, or was signed outside
/// the accepted time window (expired, from the future); or no usable secret is configured.
#[php_class]
#[php(name = "InventorySync\\Exception\\SignatureException")]
#[php(extends(SyncException))]
#[derive(Default)]
pub struct SignatureException;

/// The ledger store failed (file, query, schema).
#[php_class]
#[php(name = "InventorySync\\Exception\\LedgerException")]
#[php(extends(SyncException))]
#[derive(Default)]
pub struct LedgerException;

/// Something looked up by key (SKU, location, channel) does not exist.
#[php_class]
#[php(name = "InventorySync\\Exception\\NotFoundException")]
#[php(extends(LedgerException))]
#[derive(Default)]
pub struct NotFoundException;

/// A guarded request (such as a reservation) was refused by a stock rule; nothing changed.
#[php_class]
#[php(name = "InventorySync\\Exception\\ConflictException")]
#[php(extends(LedgerException))]
#[derive(Default)]
pub struct ConflictException;

/// A sales channel failed or refused a request.
#[php_class]
#[php(name = "InventorySync\\Exception\\ChannelException")]
#[php(extends(SyncException))]
#[derive(Default)]
pub struct ChannelException;

/// Stable numeric code per error kind (the exception's `getCode()`).
pub fn code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Validation => 1,
        ErrorKind::Signature => 2,
        ErrorKind::Ledger => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Conflict => 5,
        ErrorKind::Channel => 6,
    }
}

/// Stable text code per error kind, used where errors are reported as data (batch outcomes).
pub fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Validation => "validation",
        ErrorKind::Signature => "signature",
        ErrorKind::Ledger => "ledger",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::Channel => "channel",
    }
}

impl From<Error> for PhpException {
    fn from(error: Error) -> Self {
        let kind = error.kind();
        let message = error.full_message();
        let class = match kind {
            ErrorKind::Validation => ValidationException::get_metadata().ce(),
            ErrorKind::Signature => SignatureException::get_metadata().ce(),
            ErrorKind::Ledger => LedgerException::get_metadata().ce(),
            ErrorKind::NotFound => NotFoundException::get_metadata().ce(),
            ErrorKind::Conflict => ConflictException::get_metadata().ce(),
            ErrorKind::Channel => ChannelException::get_metadata().ce(),
        };
        PhpException::new(message, code(kind), class)
    }
}

/// Registers the exception classes, parents first.
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module
        .class::<SyncException>()
        .class::<ValidationException>()
        .class::<SignatureException>()
        .class::<LedgerException>()
        .class::<NotFoundException>()
        .class::<ConflictException>()
        .class::<ChannelException>()
}
