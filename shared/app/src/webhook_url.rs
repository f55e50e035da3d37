//! Where a merchant's webhook URL may point: only at the public internet. Notifications are
//! requests our functions make on a merchant's say-so, so a URL that reaches loopback, a
//! private or link-local network, carrier-grade NAT (100.64/10), cloud metadata, or any of
//! them dressed up (a decimal, octal or hex IPv4, `127.1`, an IPv4-mapped or -translated
//! IPv6) must never be called. The host is checked when the URL is set (its name resolved,
//! every address it has checked) and again at every delivery (see [`PublicOnly`]'s use in
//! the webhook sender), since a name's addresses can change between the two.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether an IPv4 address is on the public internet.
fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // Carrier-grade NAT, shared address space.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, benchmarking, reserved.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

/// Whether an address is on the public internet; IPv6 forms that carry an IPv4 address
/// (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // ::a.b.c.d (IPv4-compatible, deprecated) and the NAT64 prefix 64:ff9b::/96.
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return public_v4(embedded(s[6], s[7]));
    }
    // NAT64: the well-known prefix 64:ff9b::/96 and the local-use 64:ff9b:1::/48.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1] {
        return public_v4(embedded(s[6], s[7]));
    }
    // IPv4-translated (SIIT): ::ffff:0:a.b.c.d.
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return public_v4(embedded(s[6], s[7]));
    }
    // 6to4 carries the IPv4 address in bits 16-48.
    if s[0] == 0x2002 {
        return public_v4(embedded(s[1], s[2]));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, link-local, site-local (deprecated).
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Teredo hides an IPv4 address behind a relay.
        || (s[0] == 0x2001 && s[1] == 0))
}

/// Why a webhook URL is refused, for the API's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// The host and port a webhook URL would be delivered to, once its form is acceptable.
fn parse(raw: &str, insecure: bool) -> Result<url::Url, Refused> {
    if raw.len() > 2048 || raw.contains(char::is_whitespace) {
        return Err(Refused("`webhook_url` is not a URL."));
    }
    let authority = raw
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
    if authority.is_some_and(|a| a.contains('@')) {
        return Err(Refused("`webhook_url` must not carry credentials."));
    }
    let url = url::Url::parse(raw).map_err(|_| Refused("`webhook_url` is not a URL."))?;
    match url.scheme() {
        "https" => {}
        "http" if insecure => {}
        _ if insecure => return Err(Refused("`webhook_url` must be http(s).")),
        _ => return Err(Refused("`webhook_url` must be https.")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused("`webhook_url` must not carry credentials."));
    }
    if url.host().is_none() {
        return Err(Refused("`webhook_url` has no host."));
    }
    Ok(url)
}

/// Checks a webhook URL a merchant sets: https, no credentials in it, and a host whose
/// every address is public (a name is resolved now). `insecure` (the local stack only)
/// also takes http and private hosts.
pub async fn check(raw: &str, insecure: bool) -> Result<(), Refused> {
    let url = parse(raw, insecure)?;
    if insecure {
        return Ok(());
    }
    let private = Refused("`webhook_url` must be a public address.");
    match url.host() {
        Some(url::Host::Ipv4(ip)) => public(IpAddr::V4(ip)).then_some(()).ok_or(private),
        Some(url::Host::Ipv6(ip)) => public(IpAddr::V6(ip)).then_some(()).ok_or(private),
        Some(url::Host::Domain(name)) => {
            let lower = name.to_ascii_lowercase();
            if lower == "localhost" || lower.ends_with(".localhost") || lower.ends_with(".internal")
            {
                return Err(private);
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs: Vec<IpAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| Refused("`webhook_url`'s host does not resolve."))?
                .map(|a| a.ip())
                .collect();
            if addrs.is_empty() {
                return Err(Refused("`webhook_url`'s host does not resolve."));
            }
            addrs.into_iter().all(public).then_some(()).ok_or(private)
        }
        None => Err(Refused("`webhook_url` has no host.")),
    }
}

/// At delivery: whether a URL's host, when it is an address, is public (a name is checked
/// by the sender's resolver, which only ever hands out public addresses).
pub fn literal_host_is_public(raw: &str) -> bool {
    match url::Url::parse(raw).ok().as_ref().and_then(|u| u.host()) {
        Some(url::Host::Ipv4(ip)) => public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => public(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_hosts_in_any_form_are_refused() {
        for url in [
            "https://localhost/hooks",
            "https://127.0.0.1/hooks",
            "https://127.1/hooks",
            "https://2130706433/hooks",
            "https://0x7f000001/hooks",
            "https://0x7f.0.0.1/hooks",
            "https://0177.0.0.1/hooks",
            "https://10.1.2.3/hooks",
            "https://172.16.0.1/hooks",
            "https://192.168.1.1/hooks",
            "https://100.64.0.1/hooks",
            "https://100.127.255.254/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/hooks",
            "https://[::1]/hooks",
            "https://[::]/hooks",
            "https://[::ffff:127.0.0.1]/hooks",
            "https://[::ffff:7f00:1]/hooks",
            "https://[::ffff:a9fe:a9fe]/hooks",
            "https://[::127.0.0.1]/hooks",
            "https://[64:ff9b::a00:1]/hooks",
            "https://[64:ff9b:1::a00:1]/hooks",
            "https://[::ffff:0:127.0.0.1]/hooks",
            "https://[::ffff:0:a9fe:a9fe]/hooks",
            "https://[2002:c0a8:101::1]/hooks",
            "https://[fe80::1]/hooks",
            "https://[fd00::1]/hooks",
            "https://[2001:0:4136:e378::1]/hooks",
            "https://metadata.google.internal/computeMetadata/v1",
            "https://shop.localhost/hooks",
        ] {
            assert!(check(url, false).await.is_err(), "{url} must be refused");
        }
    }

    #[tokio::test]
    async fn public_addresses_are_taken() {
        for url in [
            "https://203.0.113.7/hooks",
            "https://8.8.8.8:8443/hooks",
            "https://[2001:db8::1]/hooks",
            "https://[2606:4700::1111]/hooks",
            "https://[::ffff:8.8.8.8]/hooks",
            "https://100.128.0.1/hooks",
        ] {
            assert_eq!(check(url, false).await, Ok(()), "{url}");
        }
    }

    #[tokio::test]
    async fn the_form_of_the_url_is_checked_first() {
        for (url, why) in [
            ("http://8.8.8.8/hooks", "https"),
            ("ftp://8.8.8.8/hooks", "https"),
            ("https://user:pw@8.8.8.8/hooks", "credentials"),
            ("https://@8.8.8.8/hooks", "credentials"),
            ("https://", "not a URL"),
            ("not a url", "not a URL"),
            ("https://shop .example/hooks", "not a URL"),
        ] {
            match check(url, false).await {
                Err(Refused(m)) => assert!(m.contains(why), "{url}: {m}"),
                Ok(()) => panic!("{url} taken"),
            }
        }
    }

    #[tokio::test]
    async fn the_local_stack_takes_http_and_loopback() {
        assert_eq!(check("http://127.0.0.1:4000/hooks", true).await, Ok(()));
        assert!(check("ftp://127.0.0.1/hooks", true).await.is_err());
    }

    #[test]
    fn literal_hosts_are_checked_at_delivery() {
        assert!(!literal_host_is_public("https://2130706433/"));
        assert!(!literal_host_is_public("https://[::ffff:10.0.0.1]/"));
        assert!(literal_host_is_public("https://8.8.8.8/"));
        assert!(literal_host_is_public("https://shop.example/"));
    }
}
