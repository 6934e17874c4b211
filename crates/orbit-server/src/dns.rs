//! CNAME checks for production satellites (docs/protocol.md "DNS") with a real resolver
//! (hickory-resolver). Name servers are configurable so that tests can run a DNS server on
//! loopback; by default the system's resolver configuration is used.

use async_trait::async_trait;
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::ProtoErrorKind;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveError, TokioResolver};
use orbit_core::satellite::{CnameResolver, DnsError};
use std::net::SocketAddr;
use std::time::Duration;

pub struct HickoryCnameResolver {
    resolver: TokioResolver,
    timeout: Duration,
}

impl HickoryCnameResolver {
    /// `servers` empty: the system configuration (`/etc/resolv.conf`).
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        // Verification must see the record as it is now, not as it was cached.
        opts.cache_size = 0;
        let builder = if servers.is_empty() {
            TokioResolver::builder_tokio()
                .map_err(|e| format!("reading the system DNS configuration: {e}"))?
        } else {
            let mut group = NameServerConfigGroup::new();
            for s in servers {
                group.merge(NameServerConfigGroup::from_ips_clear(
                    &[s.ip()],
                    s.port(),
                    true,
                ));
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], group),
                TokioConnectionProvider::default(),
            )
        };
        Ok(Self {
            resolver: builder.with_options(opts).build(),
            timeout,
        })
    }
}

fn classify(name: &str, e: &ResolveError) -> DnsError {
    if e.is_nx_domain() {
        return DnsError::NxDomain(name.to_owned());
    }
    if e.is_no_records_found() {
        return DnsError::NoRecord(name.to_owned());
    }
    if e.proto()
        .is_some_and(|p| matches!(p.kind(), ProtoErrorKind::Timeout))
    {
        return DnsError::Timeout(name.to_owned());
    }
    DnsError::Failed {
        name: name.to_owned(),
        reason: e.to_string(),
    }
}

#[async_trait]
impl CnameResolver for HickoryCnameResolver {
    async fn cname(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        // The resolver has its own timeout; this bounds retries across servers as well.
        let lookup = tokio::time::timeout(
            self.timeout * 3,
            self.resolver.lookup(fqdn.as_str(), RecordType::CNAME),
        )
        .await
        .map_err(|_| DnsError::Timeout(name.to_owned()))?;
        let lookup = lookup.map_err(|e| classify(name, &e))?;
        Ok(lookup
            .iter()
            .filter_map(|r| match r {
                RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            })
            .collect())
    }
}
