//! The HTTP client of every outbound fetch (push services, JWKS): no redirects, and
//! names resolved through [`GuardedResolver`], so a name not listed exactly in the
//! configuration never reaches a private, loopback or link-local address (DNS
//! rebinding included); which URLs may be fetched at all is `outbound::AllowList`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::outbound::is_public;

/// The resolver of every outbound HTTP client: a name resolves only to public
/// addresses unless it is listed exactly in the configuration (an IP literal in a URL
/// is not resolved and is allowed only where [`AllowList::check`] allows it).
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    exact: Arc<HashSet<String>>,
}

impl GuardedResolver {
    pub fn new<'a>(exact_names: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            exact: Arc::new(
                exact_names
                    .into_iter()
                    .map(str::to_ascii_lowercase)
                    .collect(),
            ),
        }
    }

    /// The addresses `name` may be reached at.
    pub async fn lookup(&self, name: &str) -> std::io::Result<Vec<SocketAddr>> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name, 0)).await?.collect();
        if self.exact.contains(&name.to_ascii_lowercase()) {
            return Ok(found);
        }
        let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
        if public.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the name resolves only to private addresses",
            ));
        }
        Ok(public)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.lookup(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for fetching what the configuration allows: no redirects, the
/// guarded resolver, the given timeout.
pub fn client(resolver: GuardedResolver, timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(resolver))
        .timeout(timeout)
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with rustls builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_not_listed_exactly_never_resolves_to_loopback() {
        assert!(GuardedResolver::new([]).lookup("localhost").await.is_err());
        let listed = GuardedResolver::new(["localhost"]);
        assert!(
            listed
                .lookup("localhost")
                .await
                .unwrap()
                .iter()
                .all(|a| a.ip().is_loopback())
        );
    }
}
