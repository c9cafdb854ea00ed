//! The crate's one error type.
//!
//! Errors are tagged where they happen and mapped to PHP exception classes once, in
//! `php::exceptions`. Callers ask questions of an error ([`Error::is_retryable`], [`Error::kind`])
//! instead of matching on its variants.

use crate::signature::SignatureError;

/// Shorthand for results carrying this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input failed validation before anything was changed. `field` names the offending field
    /// (for example `sku` or `quantity`) so the caller can point at it.
    #[error("{field}: {message}")]
    Validation {
        /// The field (or parameter) that was rejected.
        field: String,
        /// What is wrong with it, in words an integrator understands.
        message: String,
    },

    /// A signed message was rejected: signature missing, malformed, not matching, or outside its
    /// time window.
    #[error("signature rejected: {0}")]
    Signature(#[from] SignatureError),

    /// Something asked for by key does not exist (an unknown SKU, location or channel).
    #[error("unknown {what}: {key}")]
    NotFound {
        /// What kind of thing was looked up (`sku`, `location`, …).
        what: &'static str,
        /// The key that was not found.
        key: String,
    },

    /// A guarded request could not be satisfied without breaking a stock rule, for example a
    /// reservation for more than is available. Nothing was changed.
    #[error("{0}")]
    Conflict(String),

    /// The ledger store failed: the file could not be opened, a query failed, or the schema is
    /// newer than this build understands.
    #[error("ledger: {message}")]
    Ledger {
        /// What the store was doing when it failed.
        message: String,
        /// The underlying cause, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A sales channel could not be reached or refused a request.
    #[error("channel {channel}: {message}")]
    Channel {
        /// The channel's name or kind.
        channel: String,
        /// What went wrong, readable by a store owner.
        message: String,
        /// Whether trying again later may succeed (timeouts, 429, 5xx).
        retryable: bool,
    },
}

/// The broad class of an [`Error`]; each maps to one PHP exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// See [`Error::Validation`].
    Validation,
    /// See [`Error::Signature`].
    Signature,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::Ledger`].
    Ledger,
    /// See [`Error::Channel`].
    Channel,
}

impl Error {
    /// A validation error naming `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A ledger error with an underlying cause.
    pub fn ledger(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Ledger {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation { .. } => ErrorKind::Validation,
            Error::Signature(_) => ErrorKind::Signature,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Ledger { .. } => ErrorKind::Ledger,
            Error::Channel { .. } => ErrorKind::Channel,
        }
    }

    /// Whether the same operation may succeed if tried again later. Only transient channel
    /// failures and a busy ledger are retryable; bad input never is.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Channel { retryable, .. } => *retryable,
            Error::Ledger { source, .. } => {
                let source = source.as_deref();
                let sqlite_busy = source
                    .and_then(|s| s.downcast_ref::<rusqlite::Error>())
                    .is_some_and(|e| {
                        matches!(
                            e.sqlite_error_code(),
                            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                        )
                    });
                sqlite_busy
                    || source
                        .and_then(|s| s.downcast_ref::<mysql::Error>())
                        .is_some_and(|e| MySqlFailure::of(e).is_transient())
                    || source.is_some_and(|s| s.is::<NamedLockBusy>())
            }
            _ => false,
        }
    }

    /// The message with every underlying cause appended (`a: b: c`), for logs and exceptions.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        message
    }
}

/// How a retired ledger file (copied to a database, [`crate::ledger::copy`]) refuses a write:
/// the start of the message its triggers abort with, followed by where the ledger went.
pub const LEDGER_MOVED: &str = "inventory_sync: this ledger file was moved to";

/// The one place where SQLite failures become crate errors. The `rusqlite::Error` is kept as the
/// source so [`Error::is_retryable`] can recognise a busy or locked database.
impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        let message = match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                "the ledger is busy: another writer held it past the busy timeout"
            }
            _ if error.to_string().contains(LEDGER_MOVED) => {
                "the ledger moved to a database: this file takes no more changes"
            }
            _ => "database operation failed",
        };
        Error::ledger(message, error)
    }
}

/// What a MariaDB/MySQL driver error means to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MySqlFailure {
    /// InnoDB chose this transaction as a deadlock victim (1213) and rolled it back.
    Deadlock,
    /// A row lock was held by another connection past `innodb_lock_wait_timeout` (1205).
    LockWaitTimeout,
    /// The connection is gone (2006, 2013, a killed connection, an I/O or protocol failure).
    LostConnection,
    /// A UNIQUE or PRIMARY KEY already holds the value (1062).
    DuplicateKey,
    /// Anything else: a bug, a broken schema, a full disk, missing privileges.
    Other,
}

impl MySqlFailure {
    /// The class of a driver error.
    pub(crate) fn of(error: &mysql::Error) -> Self {
        match error {
            mysql::Error::MySqlError(e) => match e.code {
                1213 => MySqlFailure::Deadlock,
                1205 => MySqlFailure::LockWaitTimeout,
                // 1927: the connection was killed; 4031: closed by the server after inactivity.
                2006 | 2013 | 1927 | 4031 => MySqlFailure::LostConnection,
                1062 => MySqlFailure::DuplicateKey,
                _ => MySqlFailure::Other,
            },
            mysql::Error::IoError(_) | mysql::Error::CodecError(_) => MySqlFailure::LostConnection,
            _ => MySqlFailure::Other,
        }
    }

    /// Whether the same transaction may succeed when run again.
    pub(crate) fn is_transient(self) -> bool {
        matches!(
            self,
            MySqlFailure::Deadlock | MySqlFailure::LockWaitTimeout | MySqlFailure::LostConnection
        )
    }
}

/// The one place where MariaDB/MySQL failures become crate errors. The `mysql::Error` is kept as
/// the source, so [`Error::is_retryable`] and the MariaDB ledger's retry recognise what is
/// transient ([`MySqlFailure`]).
impl From<mysql::Error> for Error {
    fn from(error: mysql::Error) -> Self {
        let message = match MySqlFailure::of(&error) {
            MySqlFailure::Deadlock => "the ledger database chose this write as a deadlock victim",
            MySqlFailure::LockWaitTimeout => "the ledger is busy: another writer held a row past the lock wait timeout",
            MySqlFailure::LostConnection => "lost the connection to the ledger database",
            MySqlFailure::DuplicateKey | MySqlFailure::Other => "database operation failed",
        };
        Error::ledger(message, error)
    }
}

/// A named lock (`GET_LOCK`) of the ledger that other connections held for the whole wait:
/// busy, as retryable as a lock wait timeout.
#[derive(Debug)]
pub(crate) struct NamedLockBusy {
    /// What the lock guards (`claim`).
    pub(crate) purpose: &'static str,
    /// How long it was waited for.
    pub(crate) seconds: u64,
}

impl std::fmt::Display for NamedLockBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "other servers held the ledger's {} lock for {} s",
            self.purpose, self.seconds
        )
    }
}

impl std::error::Error for NamedLockBusy {}

impl From<NamedLockBusy> for Error {
    fn from(busy: NamedLockBusy) -> Self {
        Error::ledger("the ledger is busy", busy)
    }
}

impl Error {
    /// The driver error's class when this is a MariaDB/MySQL failure.
    pub(crate) fn mysql_failure(&self) -> Option<MySqlFailure> {
        match self {
            Error::Ledger { source, .. } => source
                .as_deref()
                .and_then(|s| s.downcast_ref::<mysql::Error>())
                .map(MySqlFailure::of),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_failures_are_classified_and_only_transient_ones_retryable() {
        let server = |code: u16| {
            mysql::Error::MySqlError(mysql::MySqlError {
                state: "HY000".into(),
                message: format!("error {code}"),
                code,
            })
        };
        let lost = mysql::Error::IoError(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"));
        let cases = [
            (server(1213), MySqlFailure::Deadlock, true, "deadlock victim"),
            (server(1205), MySqlFailure::LockWaitTimeout, true, "busy"),
            (server(2013), MySqlFailure::LostConnection, true, "lost the connection"),
            (lost, MySqlFailure::LostConnection, true, "lost the connection"),
            (
                server(1062),
                MySqlFailure::DuplicateKey,
                false,
                "database operation failed",
            ),
            (server(1146), MySqlFailure::Other, false, "database operation failed"),
        ];
        for (driver, failure, retryable, text) in cases {
            assert_eq!(MySqlFailure::of(&driver), failure, "{driver}");
            let error = Error::from(driver);
            assert_eq!(error.mysql_failure(), Some(failure), "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
            assert!(error.to_string().contains(text), "{error}");
            assert_eq!(error.kind(), ErrorKind::Ledger);
        }
        assert_eq!(Error::Conflict("x".into()).mysql_failure(), None);
        let busy = Error::from(NamedLockBusy {
            purpose: "claim",
            seconds: 5,
        });
        assert!(busy.is_retryable(), "{busy}");
        assert_eq!(busy.mysql_failure(), None);
        assert_eq!(
            busy.full_message(),
            "ledger: the ledger is busy: other servers held the ledger's claim lock for 5 s"
        );
    }

    #[test]
    fn kinds_and_retryability() {
        let cases: Vec<(Error, ErrorKind, bool)> = vec![
            (Error::validation("sku", "empty"), ErrorKind::Validation, false),
            (Error::Signature(SignatureError::Mismatch), ErrorKind::Signature, false),
            (
                Error::NotFound {
                    what: "sku",
                    key: "A".into(),
                },
                ErrorKind::NotFound,
                false,
            ),
            (Error::Conflict("only 2 available".into()), ErrorKind::Conflict, false),
            (
                Error::Channel {
                    channel: "shopify".into(),
                    message: "503".into(),
                    retryable: true,
                },
                ErrorKind::Channel,
                true,
            ),
            (
                Error::Channel {
                    channel: "ebay".into(),
                    message: "400".into(),
                    retryable: false,
                },
                ErrorKind::Channel,
                false,
            ),
        ];
        for (error, kind, retryable) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
        }
    }

    #[test]
    fn validation_message_names_the_field() {
        assert_eq!(
            Error::validation("quantity", "must be positive").to_string(),
            "quantity: must be positive"
        );
    }

    #[test]
    fn full_message_walks_the_source_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file system");
        let error = Error::ledger("cannot open /x/ledger.sqlite", io);
        assert_eq!(
            error.full_message(),
            "ledger: cannot open /x/ledger.sqlite: read-only file system"
        );
    }
}
