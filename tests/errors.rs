//! Every diagnostic code has a page, and each page's first example yields exactly that code.
//! The rendered diagnostic of each example is snapshotted as a user sees it.

mod common;

use common::*;
use netpol::backend::{Target, Versions};
use std::collections::BTreeSet;

/// What a page's `<!-- netpol-args: … -->` line asks for: `--set k=v`, `--target T`,
/// `--cilium-version V`, `--calico-version V`, `--graph svg` (draw the source's diagram as
/// `netpol graph --format svg` does). The target defaults to Kubernetes.
struct PageArgs {
    sets: Vec<(String, String)>,
    target: Target,
    versions: Versions,
    svg: bool,
    /// `--manifests`: the example's first `yaml` block is a policy manifest (see
    /// docs/errors/README.md), and its `netpol` block, if any, `expect` lines about it.
    manifests: Option<String>,
    /// `--check`: with `--manifests`, run the coverage checks (`netpol check --inventory`).
    coverage: bool,
    /// `--import`: with `--manifests`, import the manifests as `netpol import` does (`--lossy`
    /// after it: as `netpol import --lossy`; `--to cilium`: also prove on that CNI).
    import: Option<netpol::import::Options>,
    /// `--flows`: the example's first `json` block is a recorded-flow file, read as
    /// `netpol replay` reads one.
    flows: Option<String>,
}

/// The text of the first ````lang` block of `page` before its `## Fix`.
fn block(page: &str, lang: &str) -> Option<String> {
    let example = &page[..page.find("## Fix").unwrap_or(page.len())];
    let fence = format!("```{lang}\n");
    let start = example.find(&fence)? + fence.len();
    let end = start + example[start..].find("```")?;
    Some(example[start..end].to_string())
}

/// The first ```netpol block of a page and the `<!-- netpol-args: … -->` line before it.
fn first_example(page: &str) -> (String, PageArgs) {
    let mut args = PageArgs {
        sets: Vec::new(),
        target: Target::Kubernetes,
        versions: Versions::DEFAULT,
        svg: false,
        manifests: None,
        coverage: page.contains("<!-- netpol-args: --manifests --check -->"),
        import: None,
        flows: None,
    };
    if page.contains("<!-- netpol-args: --flows -->") {
        args.flows = Some(block(page, "json").expect("a --flows page has a ```json example"));
        return (String::new(), args);
    }
    if let Some(line) =
        page.lines().find_map(|l| l.trim().strip_prefix("<!-- netpol-args: --manifests --import"))
    {
        let words: Vec<&str> = line.trim_end_matches("-->").split_whitespace().collect();
        let to = words
            .windows(2)
            .filter(|w| w[0] == "--to")
            .map(|w| Target::from_name(w[1]).expect("a target after --to"))
            .collect();
        args.import = Some(netpol::import::Options {
            layout: netpol::import::Layout::Single,
            lossy: words.contains(&"--lossy"),
            cni: None,
            to,
        });
    }
    if page.contains("<!-- netpol-args: --manifests") {
        args.manifests = Some(block(page, "yaml").expect("a --manifests page has a ```yaml example"));
        return (block(page, "netpol").unwrap_or_default(), args);
    }
    let start = page.find("```netpol\n").expect("page has a ```netpol example") + "```netpol\n".len();
    let end = start + page[start..].find("```").expect("closed block");
    let words: Vec<String> = page[..start]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<!-- netpol-args:")?.strip_suffix("-->").map(str::to_string))
        .flat_map(|a| a.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for pair in words.chunks(2) {
        let [flag, value] = pair else { panic!("netpol-args: `{pair:?}` has no value") };
        match flag.as_str() {
            "--set" => {
                let (k, v) = value.split_once('=').expect("--set k=v");
                args.sets.push((k.to_string(), v.to_string()));
            }
            "--target" => args.target = Target::from_name(value).expect("known target"),
            "--cilium-version" => args.versions.cilium = value.parse().expect("version"),
            "--calico-version" => args.versions.calico = value.parse().expect("version"),
            "--graph" => args.svg = value == "svg",
            other => panic!("netpol-args: unknown flag {other}"),
        }
    }
    (page[start..end].to_string(), args)
}

/// The page example compiled as its arguments say, with the diagram's diagnostic when it asks
/// for one.
fn diagnose(source: &str, args: &PageArgs) -> netpol::driver::Compilation {
    if let Some(flows) = &args.flows {
        return diagnose_flows(flows);
    }
    if let (Some(yaml), Some(options)) = (&args.manifests, &args.import) {
        return diagnose_import(yaml, options);
    }
    if let Some(yaml) = &args.manifests {
        return diagnose_manifests(yaml, source, args.coverage);
    }
    let sets: Vec<(&str, &str)> = args.sets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = compile_with(source, &[args.target], &sets, args.versions);
    if args.svg && !c.has_errors() {
        use netpol::analysis::{reach::SourceSemantics, universe::Universe};
        let p = c.program.as_ref().expect("program");
        let u = Universe::new(p);
        let g = netpol::graph::build(p, &u, &SourceSemantics::new(p, &u));
        if let Err(d) = netpol::graph::render(p, &g, netpol::graph::Format::Svg) {
            c.diagnostics.push(*d);
        }
    }
    c
}

/// A manifest (and `expect` lines) read as `netpol verify expects.netpol example.yaml` reads
/// them: the world's diagnostics, the reader's, and the expectations'.
fn diagnose_manifests(yaml: &str, expects: &str, coverage: bool) -> netpol::driver::Compilation {
    use netpol::analysis::matrix::Semantics;
    use netpol::world::{
        coverage as world_coverage, expects as world_expects, reading, universe, Use, World,
    };
    let mut c = if expects.is_empty() {
        netpol::driver::Compilation {
            sources: netpol::span::SourceMap::new(),
            diagnostics: Vec::new(),
            outputs: Vec::new(),
            program: None,
            queries: Vec::new(),
            read_back: Vec::new(),
        }
    } else {
        let loader =
            MemLoader(std::collections::HashMap::from([("test.netpol".to_string(), expects.to_string())]));
        let options = netpol::driver::Options { expects_elsewhere: true, ..Default::default() };
        netpol::driver::compile(&["test.netpol".to_string()], &loader, &options)
    };
    let file = c.sources.add("example.yaml", yaml.to_string());
    let mut world = World::default();
    world.add_file(&c.sources, file, Use::Policies, "default");
    c.diagnostics.append(&mut world.diagnostics);
    match reading::choose(&world, None) {
        Err(d) => c.diagnostics.push(*d),
        Ok(cni) => {
            let pop = universe::build(&world, c.program.as_ref(), &[]);
            // As the command line: the manifests' reading, or the program's meaning where
            // there are no policy manifests.
            let (sem, cni): (Box<dyn Semantics>, _) = match &c.program {
                Some(p) if world.policies.is_empty() => {
                    (Box::new(netpol::analysis::reach::SourceSemantics::new(p, &pop.universe)), None)
                }
                _ => {
                    let (r, problems) = reading::read(&world, cni, &pop.universe, &c.sources);
                    c.diagnostics.extend(problems);
                    (r.semantics, Some(cni))
                }
            };
            if coverage {
                let found = world_coverage::check(&c.sources, &world, &pop, &*sem, c.program.as_ref(), cni);
                c.diagnostics.extend(found);
            } else if let Some(p) = &c.program {
                let failed = world_expects::check(&c.sources, p, &world, cni, &pop.universe, &*sem);
                c.diagnostics.extend(failed);
            }
        }
    }
    netpol::diagnostic::sort(&mut c.diagnostics);
    c
}

/// Diagnostics found outside a compile, as a compilation with no program.
fn compilation(
    sources: netpol::span::SourceMap,
    diagnostics: Vec<netpol::diagnostic::Diagnostic>,
) -> netpol::driver::Compilation {
    netpol::driver::Compilation {
        sources,
        diagnostics,
        outputs: Vec::new(),
        program: None,
        queries: Vec::new(),
        read_back: Vec::new(),
    }
}

/// A flow file read as `netpol replay PROGRAM flows.json` reads it.
fn diagnose_flows(text: &str) -> netpol::driver::Compilation {
    let mut sources = netpol::span::SourceMap::new();
    let mut recorded = netpol::traffic::Recorded::default();
    let mut diagnostics =
        recorded.read("flows.json", text.as_bytes(), &mut sources).expect("reading from memory");
    netpol::diagnostic::sort(&mut diagnostics);
    compilation(sources, diagnostics)
}

/// A manifest imported as `netpol import example.yaml` imports it: the world's diagnostics and
/// the import's, and the compile errors of the imported source, if any.
fn diagnose_import(yaml: &str, options: &netpol::import::Options) -> netpol::driver::Compilation {
    use netpol::world::{Use, World};
    let mut sources = netpol::span::SourceMap::new();
    let file = sources.add("example.yaml", yaml.to_string());
    let mut world = World::default();
    world.add_file(&sources, file, Use::Policies, "default");
    let mut diagnostics = std::mem::take(&mut world.diagnostics);
    let result = netpol::import::import(&world, &sources, options);
    diagnostics.extend(result.diagnostics);
    assert!(result.compile_errors.is_empty(), "the imported source does not compile");
    netpol::diagnostic::sort(&mut diagnostics);
    compilation(sources, diagnostics)
}

#[test]
fn every_page_example_yields_its_code() {
    for (code, page) in netpol::explain::PAGES {
        if page.contains("<!-- netpol-example: none -->") {
            // A guard no input is known to reach; each is listed, and triggered elsewhere.
            assert_eq!(*code, "E0701", "only E0701 may go without an example");
            continue;
        }
        let (source, args) = first_example(page);
        let c = diagnose(&source, &args);
        let source = match (&args.manifests, &args.flows) {
            (_, Some(flows)) => flows.clone(),
            (Some(yaml), _) => format!(
                "{yaml}{}",
                if source.is_empty() { String::new() } else { format!("----- EXPECTS\n{source}") }
            ),
            (None, None) => source,
        };
        let got = codes(&c);
        assert!(got.contains(code), "{code}: the page's example gave {got:?}\n{}", render(&c));
        let others: Vec<_> = got.iter().filter(|c| *c != code).collect();
        assert!(others.is_empty(), "{code}: the page's example also gave {others:?}\n{}", render(&c));
        insta::assert_snapshot!(
            format!("diagnostic_{code}"),
            format!("----- SOURCE\n{source}----- DIAGNOSTICS\n{}", render(&c))
        );
    }
}

#[test]
fn every_page_is_listed_and_every_listed_code_has_a_page() {
    let dir = root().join("docs/errors");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("docs/errors")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('E') || n.starts_with('W') || n.starts_with('N'))
        .map(|n| n.trim_end_matches(".md").to_string())
        .collect();
    let listed: BTreeSet<String> = netpol::explain::PAGES.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(files, listed, "docs/errors and src/explain.rs disagree");
    let index = std::fs::read_to_string(dir.join("README.md")).expect("index");
    for code in &listed {
        assert!(index.contains(code.as_str()), "docs/errors/README.md does not list {code}");
    }
}

#[test]
fn every_code_the_source_emits_has_a_page() {
    let mut emitted = BTreeSet::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            for (i, _) in text.match_indices('"') {
                let code = text.get(i + 1..i + 6).unwrap_or("");
                let closed = text.get(i + 6..i + 7) == Some("\"");
                if closed
                    && (code.starts_with('E') || code.starts_with('W') || code.starts_with('N'))
                    && code[1..].chars().all(|c| c.is_ascii_digit())
                {
                    emitted.insert(code.to_string());
                }
            }
        }
    }
    assert!(emitted.len() > 30, "found only {emitted:?}");
    for code in emitted {
        assert!(netpol::explain::page(&code).is_some(), "{code} is emitted but has no page in docs/errors");
    }
}

#[test]
fn every_diagnostic_has_a_help_line() {
    for (code, page) in netpol::explain::PAGES {
        if page.contains("<!-- netpol-example: none -->") {
            // A guard no input is known to reach; each is listed, and triggered elsewhere.
            assert_eq!(*code, "E0701", "only E0701 may go without an example");
            continue;
        }
        let (source, args) = first_example(page);
        for d in diagnose(&source, &args).diagnostics {
            assert!(d.help.as_deref().is_some_and(|h| !h.is_empty()), "{code}: {} has no help", d.code);
            assert!(!d.message.ends_with('.'), "{}: message ends with a period", d.code);
        }
    }
}

#[test]
fn all_problems_are_collected_not_just_the_first() {
    let src = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from frontend\nweb connects to backend on tcp 70000\n";
    let c = compile_str(src, &[], &[]);
    assert_eq!(codes(&c), ["E0002"], "value errors in one file are all reported before resolving");
    let src = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from frontend\nweb connects to backend on tcp 7000\n";
    assert_eq!(codes(&compile_str(src, &[], &[])), ["E0101", "E0101"]);
    let src = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 frm x\nweb connect to y\n";
    assert_eq!(codes(&compile_str(src, &[], &[])), ["E0001", "E0001"], "syntax errors recover line by line");
}

#[test]
fn unknown_names_suggest_the_closest_declaration() {
    let src = "namespace shop\nworkload frontend { app: web }\nworkload db { app: db }\ndb accepts tcp 80 from frontnd\n";
    let c = compile_str(src, &[], &[]);
    assert_eq!(c.diagnostics[0].help.as_deref(), Some("did you mean `frontend`?"));
}

#[test]
fn the_readme_lists_every_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for (code, _) in netpol::explain::PAGES {
        assert!(
            readme.contains(&format!("[{code}](docs/errors/{code}.md)")),
            "README.md does not list {code}"
        );
    }
}

/// Inputs that trigger diagnostics the page examples do not: the places a help line is
/// written for.
const BAD_INPUTS: &[&str] = &[
    "namespace a\nworkload w { app: w }\nw accepts from monitoring/prometheus\n",
    "namespace a\nworkload w { app: w }\nw accepts from prometheus\n",
    "namespace a\nworkload w { app: w }\nw conects to w\n",
    "namespace a\nworkload w { app: w }\nw accepts tpc 80 from w\n",
    "namespace a\nworkload w { app: w }\nw accept from w\n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 fromm w\n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 from\n",
    "namespace a\nworkload w { app: w }\nw connects w\n",
    "namespace a\nworkload w { app: w\n",
    "namespace a\nworkload w { app w }\n",
    "namespace a\nworkload w\n",
    "namespace a\ndefault deny sideways\n",
    "namespace a\nworkload w { app: w }\nexpect w may reach w\n",
    "namespace a\nif == { }\n",
    "namespace a\n} \n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 from w,\n",
    "namespace a\nworkload w { app: w }\nw -> w on\n",
    "namespace a\nworkload w { app: w }\nw connects to w on tcp 80 udp\n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 from w  # netpol: allow W0204\n",
    "namespace a\nworkload w { app: w }\n# netpol: allow E0101\nw accepts tcp 80 from x\n",
    "namespace a\nworkload w { app: w }\n# netpol: allw W0204\nw accepts tcp 80 from w\n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 from w # netpol: allow\n",
    "namespace a\nworkload w { app: w }\nw accepts tcp 80 from w\n# netpol: allow W0204\n",
];

/// Whether `snippet`, a piece of code from a help line, parses where such a piece goes: as
/// statements, a port list, a port, a peer, a selector, a selector term, a condition, a value
/// or a keyword of the language.
fn parses_in_some_context(snippet: &str) -> bool {
    let keywords = [
        "import",
        "param",
        "namespace",
        "namespaces",
        "workload",
        "group",
        "if",
        "else",
        "accepts",
        "connects",
        "refuses",
        "never",
        "nothing",
        "from",
        "to",
        "on",
        "and",
        "except",
        "default",
        "deny",
        "ingress",
        "egress",
        "all",
        "expect",
        "can",
        "cannot",
        "reach",
        "in",
        "notin",
        "exists",
        "does-not-exist",
        "true",
        "false",
        "tcp",
        "udp",
        "sctp",
        "->",
        ",",
        "!",
        "==",
        "!=",
        "{",
        "}",
        "(",
        ")",
        "=",
    ];
    if keywords.contains(&snippet) {
        return true;
    }
    // `{ … }` stands for a block's statements.
    let snippet = &snippet.replace("{ … }", "{ }");
    let contexts = [
        "{}\n",
        "a accepts {} from b\n",
        "a accepts tcp {} from b\n",
        "a connects to {}\n",
        "workload a {}\n",
        "workload a {{ {} }}\n",
        "if {} {{ }}\n",
        "param p: t = {}\n",
        "a {}\n",
        "{} {{ }}\n",
        "if a {{ }} {} b {{ }}\n",
    ];
    contexts.iter().any(|c| {
        let text = c.replace("{{", "\u{1}").replace("}}", "\u{2}").replacen("{}", snippet, 1);
        let text = text.replace('\u{1}', "{").replace('\u{2}', "}");
        netpol::syntax::parse(netpol::span::FileId(0), &text).is_ok()
    })
}

/// The pieces of code in a help line: the text between backticks, without what is plainly no
/// netpol (command-line flags and commands, YAML paths, file names).
fn code_in(help: &str) -> Vec<String> {
    help.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            !s.starts_with("--")
                && !s.starts_with("netpol ")
                && !s.starts_with("kubectl ")
                && !s.starts_with("hubble ")
        })
        // A character (`-`, `/`), a bracket pair (`( … )`) or a YAML path (`ports[].name`).
        .filter(|s| s.chars().any(char::is_alphanumeric) && !s.contains("[]"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_help_that_shows_code_shows_code_that_parses() {
    let mut inputs: Vec<(String, netpol::driver::Compilation)> = Vec::new();
    for (code, page) in netpol::explain::PAGES {
        if page.contains("<!-- netpol-example: none -->") {
            continue;
        }
        let (source, args) = first_example(page);
        inputs.push((format!("the example of {code}"), diagnose(&source, &args)));
    }
    for src in BAD_INPUTS {
        inputs.push((format!("{src:?}"), compile_str(src, &[], &[])));
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (what, c) in &inputs {
        for d in &c.diagnostics {
            for snippet in code_in(d.help.as_deref().unwrap_or("")) {
                checked += 1;
                if !parses_in_some_context(&snippet) {
                    failures.push(format!("{} in {what}: `{snippet}` does not parse", d.code));
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} pieces of code in the helps");
    assert!(failures.is_empty(), "helps whose code does not parse:\n{}", failures.join("\n"));
}

#[test]
fn misspelled_keywords_get_a_did_you_mean() {
    for (src, word) in [
        ("w conects to w\n", "connects"),
        ("w accepts tpc 80 from w\n", "tcp"),
        ("w accept from w\n", "accepts"),
        ("w accepts tcp 80 fromm w\n", "from"),
        ("w accepts fromm w\n", "from"),
        ("defalt deny ingress\n", "default"),
        ("default deny ingres\n", "ingress"),
        ("expect w can rech w\n", "reach"),
    ] {
        let c = compile_str(&format!("namespace a\nworkload w {{ app: w }}\n{src}"), &[], &[]);
        assert_eq!(codes(&c), ["E0001"], "{src}");
        let help = c.diagnostics[0].help.as_deref().unwrap_or("");
        assert!(help.starts_with(&format!("did you mean `{word}`?")), "{src}: {help}");
    }
    // A name that is no misspelled keyword gets none.
    let c = compile_str("namespace a\nworkload w { app: w }\nw xyzzy to w\n", &[], &[]);
    assert!(!c.diagnostics[0].help.as_deref().unwrap_or("").contains("did you mean"));
}

#[test]
fn syntax_errors_get_a_help_that_fits_the_place() {
    let help = |src: &str| {
        let c = compile_str(&format!("namespace a\nworkload w {{ app: w }}\n{src}"), &[], &[]);
        assert_eq!(codes(&c), ["E0001"], "{src}");
        c.diagnostics[0].help.clone().unwrap_or_default()
    };
    assert!(help("w accepts 80 from w\n").contains("ports follow a protocol"));
    assert!(help("w connects w\n").contains("after `to`"));
    assert!(help("default deny sideways\n").contains("names a direction"));
    assert!(help("workload v { app w }\n").contains("selector"));
    assert!(help("w accepts from w,\n").contains("a peer is"));
    assert!(help("} \n").contains("a line holds one statement"));
    let helps: BTreeSet<String> = [
        "w accepts 80 from w\n",
        "w connects w\n",
        "default deny sideways\n",
        "workload v { app w }\n",
        "} \n",
    ]
    .iter()
    .map(|s| help(s))
    .collect();
    assert_eq!(helps.len(), 5, "each place has its own help: {helps:?}");
}

#[test]
fn a_byte_order_mark_is_no_syntax_error_and_spans_stay_right() {
    let text = "\u{feff}namespace a\nworkload w { app: w }\nw accepts tcp 80 from x\n";
    let c = compile_str(text, &[], &[]);
    assert_eq!(codes(&c), ["E0101"]);
    // The span is the byte range of `x` in the text as given (the mark included).
    let span = c.diagnostics[0].primary.span;
    assert_eq!(&text[span.range()], "x");
    // A syntax error on the first line, after the mark, points at the word itself.
    let c = compile_str("\u{feff}} a\n", &[], &[]);
    assert_eq!(codes(&c), ["E0001"]);
    assert_eq!(c.diagnostics[0].primary.span.start, 3);
    let c = compile_str("\u{feff}namspace a\n", &[], &[]);
    assert_eq!(
        c.diagnostics[0].help.as_deref().map(|h| h.starts_with("did you mean `namespace`?")),
        Some(true)
    );
    assert!(netpol::fmt::format_source("\u{feff}namespace a\n").is_ok_and(|f| f == "namespace a\n"));
}

#[test]
fn syntax_errors_past_the_cap_are_counted() {
    let mut src = String::from("namespace a\nworkload w { app: w }\n");
    for _ in 0..2000 {
        src.push_str("w acepts tcp 80 from w\n");
    }
    let c = compile_str(&src, &[], &[]);
    let listed = c.diagnostics.iter().filter(|d| d.not_shown == 0).count();
    assert_eq!(listed, netpol::syntax::MAX_SYNTAX_ERRORS);
    let rest: Vec<_> = c.diagnostics.iter().filter(|d| d.not_shown > 0).collect();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].not_shown, 1980);
    assert_eq!(rest[0].message, "1,980 more syntax errors not shown");
    assert!(rest[0].help.is_some());
}

/// The flow pages' fixes read clean: at least one flow, no diagnostic.
#[test]
fn flow_pages_fixes_read_clean() {
    let mut pages = 0;
    for (code, page) in netpol::explain::PAGES {
        if !page.contains("<!-- netpol-args: --flows -->") {
            continue;
        }
        let fix = &page[page.find("## Fix").unwrap_or_else(|| panic!("{code}: no ## Fix"))..];
        let json = fix
            .split("```json\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or_else(|| panic!("{code}: the fix has no ```json block"));
        let c = diagnose_flows(json);
        assert!(c.diagnostics.is_empty(), "{code}: the fix gives {:?}", codes(&c));
        pages += 1;
    }
    assert!(pages >= 2, "only {pages} flow pages");
}
