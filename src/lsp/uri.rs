//! `file:` URIs ↔ the paths the compiler loads. Any other scheme (an editor's unsaved buffer,
//! `untitled:Untitled-1`) keeps its URI text as its path: the file is compiled from memory, and
//! its imports are looked up relative to the current directory.

/// The path a document's URI names.
pub fn to_path(uri: &str) -> String {
    let Some(rest) = uri.strip_prefix("file://") else { return uri.to_string() };
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = decode(rest);
    // `file:///c:/x` names `c:/x` on Windows.
    let bytes = path.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
        return path[1..].to_string();
    }
    path
}

/// The URI of a path: `file://` and the absolute path, percent-encoded. A path that came from
/// a URI of another scheme (see [`to_path`]) is its own URI.
pub fn from_path(path: &str) -> String {
    if !path.starts_with('/') && !is_windows_absolute(path) {
        if path.contains(':') {
            return path.to_string();
        }
        let absolute = std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.into());
        return from_path(&absolute.display().to_string());
    }
    let mut out = String::from("file://");
    if !path.starts_with('/') {
        out.push('/');
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            b'\\' => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'/' || b[2] == b'\\')
}

/// Percent-decoding; a malformed escape is kept as written, and invalid UTF-8 is replaced.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        for path in ["/tmp/a.netpol", "/home/é t/x y#1.netpol", "/p/100%.netpol"] {
            assert_eq!(to_path(&from_path(path)), path);
        }
        assert_eq!(from_path("/home/é t/a.netpol"), "file:///home/%C3%A9%20t/a.netpol");
        assert_eq!(to_path("file:///home/%C3%A9%20t/a.netpol"), "/home/é t/a.netpol");
        assert_eq!(to_path("file://localhost/a.netpol"), "/a.netpol");
    }

    #[test]
    fn windows_and_other_schemes() {
        assert_eq!(to_path("file:///c%3A/policies/a.netpol"), "c:/policies/a.netpol");
        assert_eq!(from_path("c:/policies/a.netpol"), "file:///c%3A/policies/a.netpol");
        assert_eq!(to_path("untitled:Untitled-1"), "untitled:Untitled-1");
        assert_eq!(from_path("untitled:Untitled-1"), "untitled:Untitled-1");
        assert_eq!(to_path("file:///bad%zz%4"), "/bad%zz%4");
    }
}
