//! Where the ledger's database server is and how to reach it: a `mysql://` URL, completed or
//! overridden by separate settings (what a WordPress site has: `DB_HOST` as
//! `wpdb::parse_db_host` splits it, `DB_USER`, `DB_PASSWORD`, `DB_NAME`), and the TLS mode.
//! Pure: builds the connection options; [`super::MariaDbLedger::open_server`] connects.

use std::path::PathBuf;

use mysql::{Opts, OptsBuilder, SslOpts};

use crate::{Error, Result};

/// How the connection is encrypted, as the MySQL and MariaDB clients' `--ssl-mode` says it.
/// A Unix socket is never encrypted (it does not leave the machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP.
    Disabled,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked (it only
    /// keeps the traffic from passive listeners). The default, as in the MySQL client.
    #[default]
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS, with the server's certificate signed by the CA (`ca_file`, else the public roots).
    VerifyCa,
    /// As [`TlsMode::VerifyCa`], and the certificate names the host connected to.
    VerifyIdentity,
}

impl TlsMode {
    /// `disabled`, `preferred`, `required`, `verify_ca` or `verify_identity` (case and `-`/`_`
    /// insensitive).
    pub fn parse(text: &str) -> Result<TlsMode> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" | "off" => Ok(TlsMode::Disabled),
            "preferred" => Ok(TlsMode::Preferred),
            "required" => Ok(TlsMode::Required),
            "verify_ca" => Ok(TlsMode::VerifyCa),
            "verify_identity" => Ok(TlsMode::VerifyIdentity),
            _ => Err(Error::validation(
                "tls",
                "use disabled, preferred, required, verify_ca or verify_identity",
            )),
        }
    }
}

/// The server settings that complete or override the URL. `None` keeps the URL's part.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: Option<String>,
    /// TCP port (1–65535; the URL's, else 3306).
    pub port: Option<u16>,
    /// Path of the server's Unix socket; used instead of TCP when set.
    pub socket: Option<String>,
    /// The database user.
    pub user: Option<String>,
    /// The user's password; any characters (it is not part of a URL).
    pub password: Option<String>,
    /// The database holding the ledger's tables.
    pub database: Option<String>,
    /// How the connection is encrypted.
    pub tls: TlsMode,
    /// The CA certificate (PEM or DER) that signs the server's, for the verifying TLS modes.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for ServerSettings {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("database", &self.database)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The connection options of `url` (`mysql://user:password@host:port/database?socket=…`; may be
/// just `mysql://`) with `settings` applied over it, TLS included.
pub fn connection_opts(url: &str, settings: &ServerSettings) -> Result<Opts> {
    // The URL may carry the password: it is never part of a message.
    let base = if url.trim() == "mysql://" {
        Opts::default()
    } else {
        Opts::from_url(url)
            .map_err(|_| Error::validation("url", "is not a MySQL URL (mysql://user:password@host:port/database)"))?
    };
    let mut builder = OptsBuilder::from_opts(base);
    if let Some(host) = non_empty(&settings.host) {
        builder = builder.ip_or_hostname(Some(host.trim_start_matches('[').trim_end_matches(']')));
    }
    if let Some(port) = settings.port {
        if port == 0 {
            return Err(Error::validation("port", "must be between 1 and 65535"));
        }
        builder = builder.tcp_port(port);
    }
    if let Some(socket) = non_empty(&settings.socket) {
        builder = builder.socket(Some(socket));
    }
    if let Some(user) = &settings.user {
        builder = builder.user(Some(user.as_str()));
    }
    if let Some(password) = &settings.password {
        builder = builder.pass(Some(password.as_str()));
    }
    if let Some(database) = non_empty(&settings.database) {
        builder = builder.db_name(Some(database));
    }
    if settings.ca_file.is_some() && !matches!(settings.tls, TlsMode::VerifyCa | TlsMode::VerifyIdentity) {
        return Err(Error::validation(
            "ca_file",
            "is used by the verify_ca and verify_identity TLS modes only",
        ));
    }
    // A loopback host means TCP, as for WordPress: the driver would otherwise move to the
    // server's socket, where the user is another account ('user'@'localhost') and TLS ends.
    Ok(builder.prefer_socket(false).ssl_opts(ssl_opts(settings)).into())
}

/// The TLS options of `settings.tls` (none when disabled).
fn ssl_opts(settings: &ServerSettings) -> Option<SslOpts> {
    let unchecked = SslOpts::default()
        .with_danger_accept_invalid_certs(true)
        .with_danger_skip_domain_validation(true);
    match settings.tls {
        TlsMode::Disabled => None,
        TlsMode::Preferred | TlsMode::Required => Some(unchecked),
        TlsMode::VerifyCa | TlsMode::VerifyIdentity => {
            let mut opts = SslOpts::default().with_danger_skip_domain_validation(settings.tls == TlsMode::VerifyCa);
            if let Some(ca) = &settings.ca_file {
                opts = opts.with_root_cert_path(Some(ca.clone()));
            }
            Some(opts)
        }
    }
}

/// `opts` without TLS: what [`TlsMode::Preferred`] falls back to when the server offers none.
pub(super) fn without_tls(opts: &Opts) -> Opts {
    OptsBuilder::from_opts(opts.clone()).ssl_opts(None::<SslOpts>).into()
}

/// Where `opts` connect, for messages and `Ledger::path()`: `mysql://user@host:port/database`
/// (or `…@localhost/database?socket=…`), never the password.
pub fn describe(opts: &Opts) -> String {
    let user = opts.get_user().unwrap_or_default();
    let database = opts.get_db_name().unwrap_or_default();
    match opts.get_socket() {
        Some(socket) => format!("mysql://{user}@localhost/{database}?socket={socket}"),
        None => {
            let host = opts.get_ip_or_hostname();
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            format!("mysql://{user}@{host}:{}/{database}", opts.get_tcp_port())
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ServerSettings {
        ServerSettings {
            host: Some("db.example.com".into()),
            port: Some(3307),
            user: Some("shop".into()),
            password: Some("p@ss:w/rd".into()),
            database: Some("wordpress".into()),
            ..ServerSettings::default()
        }
    }

    #[test]
    fn settings_complete_an_empty_url_and_keep_the_password_out_of_descriptions() {
        let opts = connection_opts("mysql://", &settings()).unwrap();
        assert_eq!(opts.get_ip_or_hostname(), "db.example.com");
        assert_eq!(opts.get_tcp_port(), 3307);
        assert_eq!(opts.get_user(), Some("shop"));
        assert_eq!(opts.get_pass(), Some("p@ss:w/rd"), "a password needs no URL encoding");
        assert_eq!(opts.get_db_name(), Some("wordpress"));
        assert_eq!(describe(&opts), "mysql://shop@db.example.com:3307/wordpress");
        assert!(!opts.get_prefer_socket(), "127.0.0.1 stays TCP, as for WordPress");
        assert!(!format!("{:?}", settings()).contains("p@ss"));
    }

    #[test]
    fn settings_override_the_url_and_absent_ones_keep_it() {
        let url = "mysql://erp:secret@10.0.0.5:3306/ledger";
        let opts = connection_opts(url, &ServerSettings::default()).unwrap();
        assert_eq!(describe(&opts), "mysql://erp@10.0.0.5:3306/ledger");
        assert_eq!(opts.get_pass(), Some("secret"));
        let opts = connection_opts(
            url,
            &ServerSettings {
                database: Some("other".into()),
                ..ServerSettings::default()
            },
        )
        .unwrap();
        assert_eq!(describe(&opts), "mysql://erp@10.0.0.5:3306/other");
    }

    #[test]
    fn a_socket_and_an_ipv6_host_as_wordpress_splits_db_host() {
        // DB_HOST 'localhost:/run/mysqld/mysqld.sock' → host 'localhost', socket '/run/…'.
        let opts = connection_opts(
            "mysql://",
            &ServerSettings {
                host: Some("localhost".into()),
                socket: Some("/run/mysqld/mysqld.sock".into()),
                database: Some("wp".into()),
                user: Some("wp".into()),
                ..ServerSettings::default()
            },
        )
        .unwrap();
        assert_eq!(opts.get_socket(), Some("/run/mysqld/mysqld.sock"));
        assert_eq!(
            describe(&opts),
            "mysql://wp@localhost/wp?socket=/run/mysqld/mysqld.sock"
        );
        // DB_HOST '[::1]:3307' → host '::1' (wpdb strips the brackets), port 3307.
        for host in ["::1", "[::1]"] {
            let opts = connection_opts(
                "mysql://",
                &ServerSettings {
                    host: Some(host.into()),
                    port: Some(3307),
                    ..ServerSettings::default()
                },
            )
            .unwrap();
            assert_eq!(opts.get_ip_or_hostname(), "::1");
            assert_eq!(describe(&opts), "mysql://@[::1]:3307/");
        }
    }

    #[test]
    fn bad_urls_ports_and_tls_settings_are_refused_without_echoing_the_url() {
        let error = connection_opts("postgres://u:hunter2@h/db", &ServerSettings::default()).unwrap_err();
        assert!(
            matches!(&error, Error::Validation { field, .. } if field == "url"),
            "{error:?}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let zero = ServerSettings {
            port: Some(0),
            ..ServerSettings::default()
        };
        assert!(connection_opts("mysql://", &zero).is_err());
        let ca_without_verify = ServerSettings {
            ca_file: Some("/etc/ssl/ca.pem".into()),
            ..ServerSettings::default()
        };
        assert!(connection_opts("mysql://", &ca_without_verify).is_err());
        assert!(TlsMode::parse("sometimes").is_err());
    }

    #[test]
    fn tls_modes_map_to_the_driver_s_options() {
        let with = |tls: TlsMode| {
            let s = ServerSettings {
                tls,
                ca_file: matches!(tls, TlsMode::VerifyCa).then(|| PathBuf::from("/ca.pem")),
                ..ServerSettings::default()
            };
            connection_opts("mysql://", &s).unwrap().get_ssl_opts().cloned()
        };
        assert!(with(TlsMode::Disabled).is_none());
        for mode in [TlsMode::Preferred, TlsMode::Required] {
            let ssl = with(mode).unwrap();
            assert!(ssl.accept_invalid_certs() && ssl.skip_domain_validation(), "{mode:?}");
        }
        let ca = with(TlsMode::VerifyCa).unwrap();
        assert!(!ca.accept_invalid_certs() && ca.skip_domain_validation());
        assert_eq!(ca.root_cert_path(), Some(std::path::Path::new("/ca.pem")));
        let identity = with(TlsMode::VerifyIdentity).unwrap();
        assert!(!identity.accept_invalid_certs() && !identity.skip_domain_validation());
        assert_eq!(TlsMode::parse(" Verify-Identity ").unwrap(), TlsMode::VerifyIdentity);
        assert_eq!(TlsMode::default(), TlsMode::Preferred);
        let plain = without_tls(&connection_opts("mysql://", &ServerSettings::default()).unwrap());
        assert!(plain.get_ssl_opts().is_none());
    }
}
