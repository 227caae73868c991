//! Where the marketplaces are: the real ones in production, the local sandboxes (crate
//! `shopmarkets-sandbox`) in development and tests.
//!
//! Every marketplace endpoint has a variable of its own, so an operator can point a channel at a
//! regional host or a proxy. With `CHANNEL_SANDBOXES=on` (the development default) the
//! defaults are the sandboxes the server starts on `SANDBOX_ADDR`; production refuses the
//! sandboxes and any endpoint that is not a public `https://` URL, naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::collections::BTreeMap;

use shopmarkets_types::Marketplace;

use super::{ConfigError, Vars};
use crate::secret::Secret;

/// One marketplace endpoint: its variable, the real marketplace's URL, and the sandbox path
/// standing in for it (relative to the sandboxes' base URL).
struct Endpoint {
    var: &'static str,
    real: &'static str,
    sandbox: &'static str,
}

/// `{shop}` in the Shopify URL is the shop's `*.myshopify.com` domain.
const ENDPOINTS: [Endpoint; 9] = [
    Endpoint {
        var: "SHOPIFY_ADMIN_URL",
        real: "https://{shop}",
        sandbox: "/shopify/{shop}",
    },
    Endpoint {
        var: "AMAZON_CONSENT_URL",
        real: "https://sellercentral.amazon.de",
        sandbox: "/amazon",
    },
    Endpoint {
        var: "AMAZON_LWA_URL",
        real: "https://api.amazon.com",
        sandbox: "/amazon",
    },
    Endpoint {
        var: "AMAZON_SP_API_URL",
        real: "https://sellingpartnerapi-eu.amazon.com",
        sandbox: "/amazon",
    },
    Endpoint {
        var: "EBAY_AUTH_URL",
        real: "https://auth.ebay.com",
        sandbox: "/ebay",
    },
    Endpoint {
        var: "EBAY_API_URL",
        real: "https://api.ebay.com",
        sandbox: "/ebay",
    },
    Endpoint {
        var: "KAUFLAND_API_URL",
        real: "https://sellerapi.kaufland.com",
        sandbox: "/kaufland",
    },
    Endpoint {
        var: "ETSY_CONNECT_URL",
        real: "https://www.etsy.com",
        sandbox: "/etsy",
    },
    Endpoint {
        var: "ETSY_API_URL",
        real: "https://api.etsy.com",
        sandbox: "/etsy",
    },
];

/// The local sandboxes the server starts beside the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSettings {
    /// Where they listen (`SANDBOX_ADDR`, default `127.0.0.1:3100`).
    pub addr: SocketAddr,
    /// Over HTTPS with a certificate generated at start (`SANDBOX_TLS=on`); the certificate is
    /// written to `DATA_DIR/sandbox-ca.pem` and trusted by the app's marketplace client.
    pub tls: bool,
    /// Their state survives restarts in this file (`DATA_DIR/sandboxes.json`).
    pub state_file: PathBuf,
}

impl SandboxSettings {
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The certificate file the app trusts when the sandboxes speak TLS.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls
            .then(|| self.state_file.with_file_name("sandbox-ca.pem"))
    }
}

/// What ShopMarkets is registered as at a marketplace (its developer console): the client id
/// and secret, and marketplace-specific names (`application_id` at Amazon, `ru_name` at eBay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub extra: BTreeMap<&'static str, String>,
}

impl AppCredentials {
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra.get(key).map(String::as_str)
    }
}

/// One marketplace's app-registration variables: the marketplace, the client id's and the
/// client secret's variable, and the extra names with their variables.
pub type AppVars = (
    Marketplace,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The variables of every app registration. WooCommerce and Kaufland have none: the
/// merchant's store or seller account issues the keys.
pub const APP_VARS: [AppVars; 4] = [
    (
        Marketplace::Shopify,
        "SHOPIFY_CLIENT_ID",
        "SHOPIFY_CLIENT_SECRET",
        &[],
    ),
    (
        Marketplace::Amazon,
        "AMAZON_LWA_CLIENT_ID",
        "AMAZON_LWA_CLIENT_SECRET",
        &[("application_id", "AMAZON_APPLICATION_ID")],
    ),
    (
        Marketplace::Ebay,
        "EBAY_CLIENT_ID",
        "EBAY_CLIENT_SECRET",
        &[("ru_name", "EBAY_RU_NAME")],
    ),
    (
        Marketplace::Etsy,
        "ETSY_KEYSTRING",
        "ETSY_SHARED_SECRET",
        &[],
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsConfig {
    /// `Some` when the sandboxes run (development); production never has them.
    pub sandboxes: Option<SandboxSettings>,
    /// Base URLs by variable name (see [`ChannelsConfig::endpoint`]).
    endpoints: Vec<(&'static str, String)>,
    /// A PEM file of extra certificate authorities the marketplace client trusts besides the
    /// system's (`EXTRA_CA_CERT`): a corporate proxy, or the sandboxes over HTTPS in tests.
    pub extra_ca_cert: Option<PathBuf>,
    /// ShopMarkets' app registration per marketplace; a marketplace without one cannot be
    /// connected (the connections page says so).
    pub apps: BTreeMap<Marketplace, AppCredentials>,
}

impl ChannelsConfig {
    /// The base URL behind one endpoint variable, e.g. `endpoint("ETSY_API_URL")`.
    pub fn endpoint(&self, var: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(name, _)| *name == var)
            .map(|(_, url)| url.as_str())
    }

    /// Shopify's Admin base URL for one shop domain.
    pub fn shopify_admin_url(&self, shop: &str) -> String {
        self.endpoint("SHOPIFY_ADMIN_URL")
            .unwrap_or("https://{shop}")
            .replace("{shop}", shop)
    }

    pub(super) fn parse(
        vars: &Vars,
        production: bool,
        data_dir: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let sandboxes_on = match get("CHANNEL_SANDBOXES") {
            None => !production,
            Some("on") => true,
            Some("off") => false,
            Some(_) => {
                return Err(ConfigError::invalid(
                    "CHANNEL_SANDBOXES",
                    "must be 'on' or 'off'",
                ));
            }
        };
        if production && sandboxes_on {
            return Err(ConfigError::invalid(
                "CHANNEL_SANDBOXES",
                "must be off when APP_ENV=production: the sandboxes are not marketplaces",
            ));
        }
        let sandboxes = if sandboxes_on {
            let addr = match get("SANDBOX_ADDR") {
                None => SocketAddr::from(([127, 0, 0, 1], 3100)),
                Some(value) => value.parse().map_err(|_| {
                    ConfigError::invalid("SANDBOX_ADDR", "must be an address like 127.0.0.1:3100")
                })?,
            };
            let tls = match get("SANDBOX_TLS") {
                None | Some("off") => false,
                Some("on") => true,
                Some(_) => {
                    return Err(ConfigError::invalid("SANDBOX_TLS", "must be 'on' or 'off'"));
                }
            };
            Some(SandboxSettings {
                addr,
                tls,
                state_file: data_dir.join("sandboxes.json"),
            })
        } else {
            None
        };

        let mut endpoints = Vec::with_capacity(ENDPOINTS.len());
        for endpoint in &ENDPOINTS {
            let url = match (get(endpoint.var), &sandboxes) {
                (Some(value), _) => {
                    check_endpoint(endpoint.var, value, production)?;
                    value.trim_end_matches('/').to_owned()
                }
                (None, Some(sandbox)) => format!("{}{}", sandbox.base_url(), endpoint.sandbox),
                (None, None) => endpoint.real.to_owned(),
            };
            endpoints.push((endpoint.var, url));
        }

        let extra_ca_cert = match get("EXTRA_CA_CERT") {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(ConfigError::invalid(
                        "EXTRA_CA_CERT",
                        "must name a PEM file of certificates that exists",
                    ));
                }
                Some(path)
            }
            None => sandboxes.as_ref().and_then(SandboxSettings::ca_file),
        };
        let mut apps = BTreeMap::new();
        for (marketplace, id_var, secret_var, extras) in APP_VARS {
            let (Some(client_id), Some(secret)) = (get(id_var), get(secret_var)) else {
                if get(id_var).is_some() != get(secret_var).is_some() {
                    let missing = if get(id_var).is_some() {
                        secret_var
                    } else {
                        id_var
                    };
                    return Err(ConfigError::Missing {
                        var: missing_var(missing),
                    });
                }
                continue;
            };
            let mut extra = BTreeMap::new();
            for (key, var) in extras {
                let value = get(var).ok_or(ConfigError::Missing {
                    var: missing_var(var),
                })?;
                extra.insert(*key, value.to_owned());
            }
            apps.insert(
                marketplace,
                AppCredentials {
                    client_id: client_id.to_owned(),
                    client_secret: Secret::new(secret.to_owned()),
                    extra,
                },
            );
        }
        Ok(Self {
            sandboxes,
            endpoints,
            extra_ca_cert,
            apps,
        })
    }
}

/// An endpoint override: a URL; in production `https://` to a host that is not this machine.
fn check_endpoint(var: &'static str, value: &str, production: bool) -> Result<(), ConfigError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| {
            (!production)
                .then(|| value.strip_prefix("http://"))
                .flatten()
        })
        .ok_or_else(|| {
            ConfigError::invalid(
                var,
                if production {
                    "must start with https:// when APP_ENV=production"
                } else {
                    "must start with https:// or http://"
                },
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || value.contains(['@', ' ', '?', '#'])
        || value.chars().any(char::is_control)
    {
        return Err(ConfigError::invalid(
            var,
            "must be a URL like https://api.example.com",
        ));
    }
    if production {
        let hostname = host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
            .trim_matches(['[', ']']);
        let local = hostname.eq_ignore_ascii_case("localhost")
            || hostname.ends_with(".localhost")
            || hostname
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
        if local || rest.contains("/sandbox") {
            return Err(ConfigError::invalid(
                var,
                "points at a local sandbox; production talks to the real marketplace",
            ));
        }
    }
    Ok(())
}

/// The `'static` name of an app-registration variable, for error messages.
fn missing_var(name: &str) -> &'static str {
    APP_VARS
        .iter()
        .flat_map(|(_, id, secret, extras)| {
            [*id, *secret]
                .into_iter()
                .chain(extras.iter().map(|(_, var)| *var))
        })
        .find(|var| *var == name)
        .unwrap_or("CHANNEL_APP")
}

/// Every app-registration variable, for development secrets.
pub(super) fn app_vars() -> impl Iterator<Item = &'static str> {
    APP_VARS.iter().flat_map(|(_, id, secret, extras)| {
        [*id, *secret]
            .into_iter()
            .chain(extras.iter().map(|(_, var)| *var))
    })
}
