//! The production [`AdapterFactory`]: builds each channel's adapter from what the store keeps,
//! opening its sealed credentials with the site's [`CredentialKey`], and seals what an owner
//! saves. The one place credentials are decrypted.
//!
//! Credentials are a JSON object of strings (`{"access_token": "…"}`), sealed whole with the
//! channel key as context, so a sealed blob copied onto another channel does not open.

use serde_json::{Map, Value};

use super::runner::AdapterFactory;
use super::Clock;
use crate::channels::connect::{check, connect};
use crate::channels::http::HttpConfig;
use crate::channels::oauth2::CachedToken;
use crate::channels::{Channel, Secret, Unpaced};
use crate::crypto::{self, CredentialKey};
use crate::ledger::{ChannelConfig, ChannelType, LedgerStore};
use crate::{Error, Result};

/// Builds adapters for a site: its credential key (none when the site has no secret material:
/// channels with credentials then cannot be saved or pushed to) and its HTTP timeouts.
pub struct Adapters {
    key: Option<CredentialKey>,
    http: HttpConfig,
}

impl Adapters {
    /// A factory opening credentials with `key`.
    pub fn new(key: Option<CredentialKey>, http: HttpConfig) -> Self {
        Adapters { key, http }
    }

    /// The HTTP timeouts adapters (and the message sender) use.
    pub fn http(&self) -> &HttpConfig {
        &self.http
    }

    fn key(&self) -> Result<&CredentialKey> {
        self.key.as_ref().ok_or_else(|| {
            Error::validation(
                "credential_key",
                "no credential key is configured (define INVENTORY_SYNC_SECRET_KEY or the WordPress salts)",
            )
        })
    }

    /// Seals `plaintext` for `context` with the site's key (another secret than a channel's
    /// credentials: the primary source's token).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String> {
        crypto::seal(self.key()?, plaintext, context)
    }

    /// Opens what [`Adapters::seal`] sealed for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        crypto::open(self.key()?, sealed, context)
    }

    /// The credentials stored on `channel`, opened: an empty object when it has none.
    pub fn open_credentials(&self, channel: &ChannelConfig) -> Result<Map<String, Value>> {
        let Some(sealed) = channel.credentials.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Ok(Map::new());
        };
        let plain = crypto::open(self.key()?, sealed, &channel.key)?;
        match serde_json::from_slice(&plain) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Error::validation(
                "credentials",
                "the stored credentials are not a JSON object",
            )),
        }
    }

    /// What an owner saves for a channel of `kind` under `key`, checked against the kind's
    /// fields ([`check`]) and sealed. A credential given as an empty string keeps the one stored
    /// in `previous` (a form's blank password field means "unchanged"). Returns the sealed text.
    pub fn seal_credentials(
        &self,
        key: &str,
        kind: ChannelType,
        settings: &Value,
        given: Map<String, Value>,
        previous: Option<&ChannelConfig>,
    ) -> Result<String> {
        let stored = match previous {
            Some(channel) if channel.kind == kind => self.open_credentials(channel).unwrap_or_default(),
            _ => Map::new(),
        };
        let mut credentials = Map::new();
        for (name, value) in given {
            let blank = value.as_str().is_some_and(|s| s.trim().is_empty());
            let value = match stored.get(&name) {
                Some(kept) if blank => kept.clone(),
                _ => value,
            };
            credentials.insert(name, value);
        }
        let credentials = Value::Object(credentials);
        if kind != ChannelType::WooCommerceLocal {
            check(kind.as_str(), settings, &credentials)?;
        }
        crypto::seal(self.key()?, credentials.to_string().as_bytes(), key)
    }

    /// This factory keeping OAuth access tokens in `store` between requests (sealed, per
    /// channel), so a cron run every minute does not ask eBay or Amazon for a new token each time.
    pub fn keeping_tokens<'a>(&'a self, store: &'a dyn LedgerStore, clock: &'a dyn Clock) -> TokenKeeping<'a> {
        TokenKeeping {
            adapters: self,
            store,
            clock,
        }
    }

    /// `channel`'s credentials for display: each field masked ([`crypto::mask`]); `None` when
    /// they cannot be opened (another site's key, tampering).
    pub fn masked_credentials(&self, channel: &ChannelConfig) -> Option<Map<String, Value>> {
        let open = self.open_credentials(channel).ok()?;
        Some(
            open.into_iter()
                .map(|(name, value)| {
                    let shown = match &value {
                        Value::String(secret) => crypto::mask(secret),
                        Value::Null => String::new(),
                        _ => crypto::mask(&value.to_string()),
                    };
                    (name, Value::String(shown))
                })
                .collect(),
        )
    }
}

impl AdapterFactory for Adapters {
    /// `woocommerce_local` is applied in PHP (`None`); every other kind is built by
    /// [`connect`], unpaced: the runner paces writes through the store's token bucket.
    fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>> {
        if channel.kind == ChannelType::WooCommerceLocal {
            return Ok(None);
        }
        let settings = Value::Object(channel.settings_json()?);
        let credentials = Value::Object(self.open_credentials(channel)?);
        connect(
            channel.kind.as_str(),
            &settings,
            &credentials,
            self.http.clone(),
            Box::new(Unpaced),
        )
        .map(Some)
    }
}

/// The sync state entry holding a channel's access token.
pub fn token_state(channel_key: &str) -> String {
    format!("oauth.{channel_key}")
}

/// [`Adapters`] with access tokens persisted in the store: see [`Adapters::keeping_tokens`].
pub struct TokenKeeping<'a> {
    adapters: &'a Adapters,
    store: &'a dyn LedgerStore,
    clock: &'a dyn Clock,
}

impl TokenKeeping<'_> {
    fn context(channel: &ChannelConfig) -> String {
        format!("oauth:{}", channel.key)
    }

    /// The token kept for `channel`, if any and readable (a token that cannot be opened is
    /// simply asked for again).
    fn kept(&self, channel: &ChannelConfig) -> Option<CachedToken> {
        let sealed = self.store.sync_state(&token_state(&channel.key)).ok()??;
        if sealed.is_empty() {
            return None;
        }
        let plain = self.adapters.open(&sealed, &Self::context(channel)).ok()?;
        let value: Value = serde_json::from_slice(&plain).ok()?;
        Some(CachedToken {
            access_token: Secret::new(value["access_token"].as_str()?),
            expires_at: value["expires_at"].as_i64()?,
        })
    }
}

impl AdapterFactory for TokenKeeping<'_> {
    fn adapter(&self, channel: &ChannelConfig) -> Result<Option<Box<dyn Channel>>> {
        let mut adapter = self.adapters.adapter(channel)?;
        if let (Some(adapter), Some(token)) = (adapter.as_mut(), self.kept(channel)) {
            adapter.resume_token(token);
        }
        Ok(adapter)
    }

    fn release(&self, channel: &ChannelConfig, adapter: &dyn Channel) {
        let Some(token) = adapter.access_token() else {
            return;
        };
        if self.kept(channel).as_ref() == Some(&token) {
            return;
        }
        let plain = serde_json::json!({
            "access_token": token.access_token.expose(),
            "expires_at": token.expires_at,
        });
        if let Ok(sealed) = self
            .adapters
            .seal(plain.to_string().as_bytes(), &Self::context(channel))
        {
            // Not kept: the next run asks for a new token, nothing else.
            let _ = self
                .store
                .set_sync_state(&token_state(&channel.key), &sealed, self.clock.now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::ChannelInput;
    use serde_json::json;

    fn config(key: &str, kind: ChannelType, settings: Value, credentials: Option<String>) -> ChannelConfig {
        let input = ChannelInput::new(key, kind, "Test");
        ChannelConfig {
            id: 1,
            key: input.key,
            kind,
            name: input.name,
            enabled: true,
            allocation: input.allocation,
            batch_size: 100,
            rate: input.rate,
            min_change: 0,
            low_stock_level: 0,
            settings: settings.to_string(),
            credentials,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn adapters() -> Adapters {
        Adapters::new(
            Some(CredentialKey::derive(b"0123456789abcdef-site-secret").unwrap()),
            HttpConfig::default(),
        )
    }

    fn shopify_settings() -> Value {
        json!({"shop_url": "https://demo.myshopify.com", "location_id": "gid://shopify/Location/1"})
    }

    #[test]
    fn sealed_credentials_build_the_adapter_and_never_show_in_full() {
        let a = adapters();
        let given = json!({"access_token": "shpat_0123456789abcdef"})
            .as_object()
            .unwrap()
            .clone();
        let sealed = a
            .seal_credentials("shopify:demo", ChannelType::Shopify, &shopify_settings(), given, None)
            .unwrap();
        assert!(crypto::is_sealed(&sealed));
        assert!(!sealed.contains("shpat_"));
        let channel = config("shopify:demo", ChannelType::Shopify, shopify_settings(), Some(sealed));
        let adapter = a.adapter(&channel).unwrap().expect("an adapter");
        assert!(adapter.readable());
        let masked = a.masked_credentials(&channel).unwrap();
        assert_eq!(masked["access_token"], json!("••••cdef"));
    }

    #[test]
    fn a_blank_credential_keeps_the_stored_one_and_a_missing_one_is_refused() {
        let a = adapters();
        let first = json!({"access_token": "shpat_first_token_0001"})
            .as_object()
            .unwrap()
            .clone();
        let sealed = a
            .seal_credentials("s", ChannelType::Shopify, &shopify_settings(), first, None)
            .unwrap();
        let stored = config("s", ChannelType::Shopify, shopify_settings(), Some(sealed));
        let blank = json!({"access_token": ""}).as_object().unwrap().clone();
        let resealed = a
            .seal_credentials("s", ChannelType::Shopify, &shopify_settings(), blank, Some(&stored))
            .unwrap();
        let again = config("s", ChannelType::Shopify, shopify_settings(), Some(resealed));
        assert_eq!(
            a.open_credentials(&again).unwrap()["access_token"],
            json!("shpat_first_token_0001")
        );

        let blank = json!({"access_token": ""}).as_object().unwrap().clone();
        let err = a
            .seal_credentials("s", ChannelType::Shopify, &shopify_settings(), blank, None)
            .unwrap_err();
        assert!(err.full_message().contains("credentials.access_token"), "{err}");
    }

    #[test]
    fn credentials_do_not_open_on_another_channel_or_without_the_key() {
        let a = adapters();
        let given = json!({"access_token": "shpat_0123456789abcdef"})
            .as_object()
            .unwrap()
            .clone();
        let sealed = a
            .seal_credentials("one", ChannelType::Shopify, &shopify_settings(), given, None)
            .unwrap();
        let moved = config("two", ChannelType::Shopify, shopify_settings(), Some(sealed.clone()));
        assert!(a.adapter(&moved).is_err());
        assert!(a.masked_credentials(&moved).is_none());
        let keyless = Adapters::new(None, HttpConfig::default());
        let own = config("one", ChannelType::Shopify, shopify_settings(), Some(sealed));
        let err = keyless.adapter(&own).err().expect("no key, no adapter");
        assert!(err.full_message().contains("credential_key"));
    }

    #[test]
    fn the_local_store_has_no_adapter() {
        let local = config("woocommerce_local", ChannelType::WooCommerceLocal, json!({}), None);
        assert!(adapters().adapter(&local).unwrap().is_none());
    }
}
