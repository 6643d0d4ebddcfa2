//! `netpol explain CODE`: the page of every diagnostic code, from `docs/errors/`.

/// Every code with its page, sorted by code. Codes are stable and never reused.
pub const PAGES: &[(&str, &str)] = &[
    ("E0001", include_str!("../docs/errors/E0001.md")),
    ("E0002", include_str!("../docs/errors/E0002.md")),
    ("E0003", include_str!("../docs/errors/E0003.md")),
    ("E0004", include_str!("../docs/errors/E0004.md")),
    ("E0005", include_str!("../docs/errors/E0005.md")),
    ("E0006", include_str!("../docs/errors/E0006.md")),
    ("E0007", include_str!("../docs/errors/E0007.md")),
    ("E0008", include_str!("../docs/errors/E0008.md")),
    ("E0009", include_str!("../docs/errors/E0009.md")),
    ("E0101", include_str!("../docs/errors/E0101.md")),
    ("E0102", include_str!("../docs/errors/E0102.md")),
    ("E0103", include_str!("../docs/errors/E0103.md")),
    ("E0104", include_str!("../docs/errors/E0104.md")),
    ("E0105", include_str!("../docs/errors/E0105.md")),
    ("E0106", include_str!("../docs/errors/E0106.md")),
    ("E0107", include_str!("../docs/errors/E0107.md")),
    ("E0108", include_str!("../docs/errors/E0108.md")),
    ("E0109", include_str!("../docs/errors/E0109.md")),
    ("E0110", include_str!("../docs/errors/E0110.md")),
    ("E0111", include_str!("../docs/errors/E0111.md")),
    ("E0112", include_str!("../docs/errors/E0112.md")),
    ("E0113", include_str!("../docs/errors/E0113.md")),
    ("E0114", include_str!("../docs/errors/E0114.md")),
    ("E0115", include_str!("../docs/errors/E0115.md")),
    ("E0116", include_str!("../docs/errors/E0116.md")),
    ("E0117", include_str!("../docs/errors/E0117.md")),
    ("E0118", include_str!("../docs/errors/E0118.md")),
    ("E0201", include_str!("../docs/errors/E0201.md")),
    ("E0301", include_str!("../docs/errors/E0301.md")),
    ("E0302", include_str!("../docs/errors/E0302.md")),
    ("E0303", include_str!("../docs/errors/E0303.md")),
    ("E0304", include_str!("../docs/errors/E0304.md")),
    ("E0305", include_str!("../docs/errors/E0305.md")),
    ("E0306", include_str!("../docs/errors/E0306.md")),
    ("E0401", include_str!("../docs/errors/E0401.md")),
    ("E0501", include_str!("../docs/errors/E0501.md")),
    ("W0201", include_str!("../docs/errors/W0201.md")),
    ("W0202", include_str!("../docs/errors/W0202.md")),
    ("W0203", include_str!("../docs/errors/W0203.md")),
    ("W0204", include_str!("../docs/errors/W0204.md")),
    ("W0205", include_str!("../docs/errors/W0205.md")),
    ("W0206", include_str!("../docs/errors/W0206.md")),
    ("W0207", include_str!("../docs/errors/W0207.md")),
    ("W0208", include_str!("../docs/errors/W0208.md")),
    ("W0209", include_str!("../docs/errors/W0209.md")),
    ("W0210", include_str!("../docs/errors/W0210.md")),
    ("W0211", include_str!("../docs/errors/W0211.md")),
    ("E0601", include_str!("../docs/errors/E0601.md")),
    ("W0602", include_str!("../docs/errors/W0602.md")),
    ("N0603", include_str!("../docs/errors/N0603.md")),
    ("W0604", include_str!("../docs/errors/W0604.md")),
    ("W0605", include_str!("../docs/errors/W0605.md")),
    ("E0606", include_str!("../docs/errors/E0606.md")),
    ("E0607", include_str!("../docs/errors/E0607.md")),
    ("W0610", include_str!("../docs/errors/W0610.md")),
    ("W0611", include_str!("../docs/errors/W0611.md")),
    ("W0612", include_str!("../docs/errors/W0612.md")),
    ("W0613", include_str!("../docs/errors/W0613.md")),
    ("W0614", include_str!("../docs/errors/W0614.md")),
    ("W0615", include_str!("../docs/errors/W0615.md")),
    ("E0701", include_str!("../docs/errors/E0701.md")),
    ("E0702", include_str!("../docs/errors/E0702.md")),
    ("W0703", include_str!("../docs/errors/W0703.md")),
    ("E0704", include_str!("../docs/errors/E0704.md")),
    ("W0705", include_str!("../docs/errors/W0705.md")),
    ("W0706", include_str!("../docs/errors/W0706.md")),
    ("W0801", include_str!("../docs/errors/W0801.md")),
    ("E0802", include_str!("../docs/errors/E0802.md")),
];

/// The page of `code` (case-insensitive), if there is one.
pub fn page(code: &str) -> Option<&'static str> {
    let code = code.trim().to_ascii_uppercase();
    PAGES.iter().find(|(c, _)| *c == code).map(|(_, p)| *p)
}

/// The one-line summary of a code: the page's title after the code.
pub fn summary(code: &str) -> Option<&'static str> {
    let title = page(code)?.lines().next()?;
    Some(title.split_once(": ").map_or(title, |(_, s)| s))
}
