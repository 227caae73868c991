//! `API_CORS_ORIGINS`: the web origins allowed to call the REST API from a browser.
//!
//! Only exact origins (`scheme://host[:port]`) are accepted, never `*` or `null`, so the server
//! can echo a request's `Origin` only when it is one of them. Errors name the entry by its
//! position, never by its value.

/// The most origins one installation may list.
const MAX_ORIGINS: usize = 32;

/// Parses a comma-separated list of origins into their serialized form (lower-case, default
/// port dropped), which is exactly what browsers send in `Origin`. Empty means none.
pub fn parse_origins(value: &str) -> Result<Vec<String>, String> {
    let mut origins: Vec<String> = Vec::new();
    for (index, entry) in value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let position = index + 1;
        let origin = parse_origin(entry).map_err(|reason| format!("entry {position} {reason}"))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > MAX_ORIGINS {
        return Err(format!("lists more than {MAX_ORIGINS} origins"));
    }
    Ok(origins)
}

fn parse_origin(entry: &str) -> Result<String, &'static str> {
    const SHAPE: &str = "must be an origin like https://erp.example.com \
                         (http or https, a host, an optional port; no path, no trailing slash)";
    if entry.contains('*') {
        return Err("is a wildcard; list exact origins instead");
    }
    if entry.eq_ignore_ascii_case("null") {
        return Err("is 'null', which is never allowed");
    }
    let lower = entry.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(SHAPE);
    };
    let (host, port) = split_host_port(rest).ok_or(SHAPE)?;
    let host = if is_domain(host) {
        host.to_owned()
    } else {
        // Browsers send IPv6 hosts in their shortest form: store that form.
        format!("[{}]", ipv6_literal(host).ok_or(SHAPE)?)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let number: u16 = p
                .parse()
                .ok()
                .filter(|n| *n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(SHAPE)?;
            let default = if scheme == "https" { 443 } else { 80 };
            (number != default).then_some(number)
        }
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when anything else follows.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match rest.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((rest, None)),
    }
}

fn is_domain(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn ipv6_literal(host: &str) -> Option<std::net::Ipv6Addr> {
    host.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}
