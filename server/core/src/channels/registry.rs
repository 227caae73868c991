//! The channel adapters and everything they share, built once at start-up and handed to every
//! service that talks to a marketplace.

use std::collections::BTreeMap;
use std::sync::Arc;

use shopmarkets_types::Marketplace;

use super::channel::{Channel, ChannelEnv};
use super::http::{self, ClientError};
use crate::config::Config;
use crate::crypto::Cipher;

/// The six adapters, the marketplace HTTP client and the credential cipher.
#[derive(Debug, Clone)]
pub struct Channels {
    adapters: BTreeMap<Marketplace, Arc<dyn Channel>>,
    envs: BTreeMap<Marketplace, ChannelEnv>,
    pub(crate) cipher: Arc<Cipher>,
}

impl Channels {
    /// `public_url` is the app's origin, for callback and notification URLs.
    pub fn new(config: &Config, public_url: &str) -> Result<Self, ClientError> {
        let client = http::client(&config.channels)?;
        let endpoints = Arc::new(config.channels.clone());
        let adapters = super::adapters();
        let envs = adapters
            .keys()
            .map(|marketplace| {
                (
                    *marketplace,
                    ChannelEnv {
                        http: client.clone(),
                        endpoints: endpoints.clone(),
                        app: config.channels.apps.get(marketplace).cloned(),
                        public_url: public_url.trim_end_matches('/').to_owned(),
                    },
                )
            })
            .collect();
        Ok(Self {
            adapters,
            envs,
            cipher: Arc::new(Cipher::new(&config.encryption_keys)),
        })
    }

    /// The adapter and its environment; `None` for a marketplace without an adapter yet.
    pub fn get(&self, marketplace: Marketplace) -> Option<(&dyn Channel, &ChannelEnv)> {
        Some((
            self.adapters.get(&marketplace)?.as_ref(),
            self.envs.get(&marketplace)?,
        ))
    }

    pub fn marketplaces(&self) -> impl Iterator<Item = Marketplace> + '_ {
        self.adapters.keys().copied()
    }

    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }
}
