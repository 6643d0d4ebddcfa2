//! The capability matrix in README.md is what the compiler does. Every row's example is compiled
//! for every target; a cell that says `yes` must compile without errors, a cell that names a
//! code must fail with exactly that code, and a release note `(1.16+, else E0303)` must also
//! fail with that code on the release just below.

mod common;

use common::*;
use netpol::backend::{Target, Version, Versions};

/// What every example is compiled with, as the README says. Examples go after it, in namespace
/// `shop`; a row whose construct says `(file level)` goes before it, outside any namespace.
const PREAMBLE: &str = "\
namespaces partner-teams { team in (fraud, risk), env: prod }
namespace monitoring {
  workload prometheus { app: prometheus }
}
namespace shop
workload web { app: web }
workload api { app: api }
workload db { app: db }
";

const HEADER: &str = "| construct | example | kubernetes | cilium | calico | kubernetes-cnp |";
const TARGETS: [Target; 4] = Target::EVERY;

/// What one cell claims.
#[derive(Debug, PartialEq)]
enum Claim {
    /// Compiles; with `gate`, only from that release on, and below it fails with the code;
    /// with `feature`, only with that `--cnp-feature`, and without it fails with the code.
    Yes { gate: Option<(Version, String)>, feature: Option<(String, String)> },
    /// Fails, and every error has this code.
    Fails(String),
}

struct Row {
    construct: String,
    example: Vec<String>,
    claims: Vec<Claim>,
}

impl Row {
    fn program(&self) -> String {
        let example = self.example.join("\n");
        if self.construct.contains("(file level)") {
            format!("{example}\n{PREAMBLE}")
        } else {
            format!("{PREAMBLE}{example}\n")
        }
    }
}

/// The rows of the table under `## Capability matrix`.
fn matrix(readme: &str) -> Vec<Row> {
    let start =
        readme.find("\n## Capability matrix\n").expect("README.md has a `## Capability matrix` section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut lines = section.lines().skip_while(|l| !l.starts_with('|'));
    assert_eq!(lines.next().map(str::trim_end), Some(HEADER), "the matrix's header row");
    let separator = lines.next().expect("a separator row");
    assert!(separator.starts_with("| ---") || separator.starts_with("|---"), "separator: {separator}");
    lines.take_while(|l| l.starts_with('|')).map(row).collect()
}

fn row(line: &str) -> Row {
    let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(cells.len(), 6, "six cells in `{line}`");
    let example = cells[1];
    assert!(
        example.len() > 2
            && example.starts_with('`')
            && example.ends_with('`')
            && !example[1..example.len() - 1].contains('`'),
        "the example is one code span: `{line}`"
    );
    Row {
        construct: cells[0].to_string(),
        example: example[1..example.len() - 1].split(" ; ").map(str::to_string).collect(),
        claims: cells[2..].iter().map(|c| claim(c, line)).collect(),
    }
}

fn is_code(s: &str) -> bool {
    s.len() == 5 && s.starts_with('E') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// `yes…`, `yes… (1.16+, else E0303)…`, or `E0301…`.
fn claim(cell: &str, line: &str) -> Claim {
    if let Some(rest) = cell.strip_prefix("yes") {
        let gate = rest.find("+, else ").map(|i| {
            let version = &rest[rest[..i].rfind('(').expect("`(` before the release") + 1..i];
            let code = &rest[i + "+, else ".len()..];
            let code = &code[..code.find(')').expect("`)` after the code")];
            assert!(is_code(code), "`{code}` is not a code in `{line}`");
            (version.parse().unwrap_or_else(|e| panic!("{e} in `{line}`")), code.to_string())
        });
        let feature = rest.find("(`--cnp-feature ").map(|i| {
            let rest = &rest[i + "(`--cnp-feature ".len()..];
            let (name, rest) =
                rest.split_once("`, else ").unwrap_or_else(|| panic!("`, else CODE)` in `{line}`"));
            let code = &rest[..rest.find(')').expect("`)` after the code")];
            assert!(is_code(code), "`{code}` is not a code in `{line}`");
            (name.to_string(), code.to_string())
        });
        return Claim::Yes { gate, feature };
    }
    let code = cell.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
    assert!(is_code(code), "a cell starts with `yes` or a code, not `{cell}` (in `{line}`)");
    Claim::Fails(code.to_string())
}

/// The release just below `v`: 1.16 → 1.15.
fn just_below(v: Version) -> Version {
    assert!(v.minor > 0 && v.patch == 0, "a release gate is a minor release: {v}");
    Version::new(v.major, v.minor - 1, 0)
}

fn with_version(target: Target, v: Version) -> Versions {
    match target {
        Target::Cilium => Versions { cilium: v, ..Versions::DEFAULT },
        Target::Calico => Versions { calico: v, ..Versions::DEFAULT },
        Target::Kubernetes | Target::KubernetesCnp => {
            panic!("netpol takes no Kubernetes release; a gate cannot be checked")
        }
    }
}

/// The error codes of compiling `program` for `target`, or the rendered problem.
fn errors(program: &str, target: Target, versions: Versions) -> (Vec<&'static str>, bool, String) {
    let c = compile_with(program, &[target], &[], versions);
    let errors: Vec<&'static str> = c.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
    let emitted = c.outputs.iter().any(|(t, objects)| *t == target && !objects.is_empty());
    (errors, emitted, render(&c))
}

fn check_fails(row: &Row, target: Target, versions: Versions, code: &str, failures: &mut Vec<String>) {
    let (errors, _, rendered) = errors(&row.program(), target, versions);
    if errors.is_empty() || errors.iter().any(|e| *e != code) {
        failures.push(format!(
            "{} / {} (cilium {}, calico {}): the README says {code}, the compiler gave {errors:?}\n{rendered}",
            row.construct,
            target.name(),
            versions.cilium,
            versions.calico
        ));
    }
}

#[test]
fn the_preamble_compiles_for_every_target() {
    for target in TARGETS {
        let (errors, _, rendered) = errors(PREAMBLE, target, Versions::DEFAULT);
        assert!(errors.is_empty(), "{}: {rendered}", target.name());
    }
}

#[test]
fn the_readme_capability_matrix_is_what_the_compiler_does() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(readme.contains(&format!("```netpol\n{PREAMBLE}```")), "README.md shows the preamble as it is");
    let rows = matrix(&readme);
    assert!(rows.len() >= 25, "the capability matrix has only {} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        for (target, claim) in TARGETS.into_iter().zip(&row.claims) {
            match claim {
                Claim::Yes { gate, feature } => {
                    let mut versions = Versions::DEFAULT;
                    if let Some((name, code)) = feature {
                        assert_eq!(name, "domain-names", "a feature netpol knows: {}", row.construct);
                        check_fails(row, target, versions, code, &mut failures);
                        versions.cnp.domain_names = true;
                    }
                    let (errors, emitted, rendered) = errors(&row.program(), target, versions);
                    if !errors.is_empty() || !emitted {
                        failures.push(format!(
                            "{} / {}: the README says yes, the compiler gave {errors:?}\n{rendered}",
                            row.construct,
                            target.name()
                        ));
                    }
                    if let Some((since, code)) = gate {
                        let versions = with_version(target, just_below(*since));
                        check_fails(row, target, versions, code, &mut failures);
                    }
                }
                Claim::Fails(code) => check_fails(row, target, Versions::DEFAULT, code, &mut failures),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree with the compiler:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cells_are_read_as_intended() {
    assert_eq!(claim("yes", ""), Claim::Yes { gate: None, feature: None });
    assert_eq!(claim("yes: `endPort` (Kubernetes 1.25+)", ""), Claim::Yes { gate: None, feature: None });
    assert_eq!(
        claim("yes: `endPort` (1.16+, else E0303)", ""),
        Claim::Yes { gate: Some((Version::new(1, 16, 0), "E0303".to_string())), feature: None }
    );
    assert_eq!(
        claim("yes: `domainNames` (`--cnp-feature domain-names`, else E0303)", ""),
        Claim::Yes { gate: None, feature: Some(("domain-names".to_string(), "E0303".to_string())) }
    );
    assert_eq!(claim("E0301", ""), Claim::Fails("E0301".to_string()));
    assert_eq!(claim("E0304: over 1024 characters", ""), Claim::Fails("E0304".to_string()));
    assert!(std::panic::catch_unwind(|| claim("no", "")).is_err());
    assert!(std::panic::catch_unwind(|| claim("partly", "")).is_err());
    assert_eq!(just_below(Version::new(1, 9, 0)), Version::new(1, 8, 0));
    let table = format!("intro\n\n## Capability matrix\n\n{HEADER}\n| --- | --- | --- | --- | --- | --- |\n| a | `x ; y` | yes | E0301 | yes (3.29+, else E0303) | yes |\n\n## Next\n| b |\n");
    let rows = matrix(&table);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].example, ["x", "y"]);
    assert!(std::panic::catch_unwind(|| matrix("## Other\n")).is_err(), "a missing matrix fails");
}
