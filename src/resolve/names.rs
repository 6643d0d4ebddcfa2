//! Validation of Kubernetes names, label keys and values, port names and DNS names, following
//! apimachinery's `validation.go` (IsQualifiedName, IsValidLabelValue, IsDNS1123Label,
//! IsValidPortName).

/// Why `key` is not a valid label key (a qualified name), or `None` if it is.
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some("the prefix before `/` is empty".into());
        }
        if p.len() > 253 || !is_dns1123_subdomain(p) {
            return Some("the prefix must be a lowercase DNS subdomain".into());
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    name_part_problem(name)
}

/// Why `value` is not a valid label value, or `None` if it is.
pub fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    name_part_problem(value)
}

fn name_part_problem(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!("{} characters, at most 63 allowed", s.len()));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c))) {
        return Some(format!("`{c}` is not allowed"));
    }
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends_ok(s.chars().next()) || !ends_ok(s.chars().last()) {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// RFC 1123 label: what Kubernetes accepts for namespace names.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// IANA_SVC_NAME: what a named container port may be.
pub fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// A DNS name or a pattern with `*` wildcards (`*.example.com`, `api-*.example.com`).
pub fn is_dns_pattern(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s == "*" {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
                // `*` stands for part of one label. Cilium reads `**.` as any number of
                // labels (`pkg/fqdn/matchpattern`), which would widen the pattern.
                && !label.contains("**")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys() {
        assert_eq!(label_key_problem("app.kubernetes.io/name"), None);
        assert_eq!(label_key_problem("control-plane"), None);
        assert!(label_key_problem("App.IO/name").is_some());
        assert!(label_key_problem("/name").is_some());
        assert!(label_key_problem("-bad").is_some());
        assert!(label_key_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn label_values() {
        assert_eq!(label_value_problem(""), None);
        assert_eq!(label_value_problem("v1.2_3-x"), None);
        assert!(label_value_problem("a b").is_some());
        assert!(label_value_problem("-x").is_some());
    }

    #[test]
    fn port_names_and_dns() {
        assert!(is_port_name("http-metrics"));
        assert!(!is_port_name("8080"));
        assert!(!is_port_name("a--b"));
        assert!(!is_port_name("sixteen-chars-xx"));
        assert!(is_dns_pattern("*.github.com"));
        assert!(is_dns_pattern("api.example.com."));
        assert!(!is_dns_pattern("a..b"));
        assert!(!is_dns_pattern("bad_name.com"));
        assert!(!is_dns_pattern("**.example.com"), "`**` would mean any depth on Cilium");
        assert!(is_dns_pattern("api-*.example.com"));
    }
}
