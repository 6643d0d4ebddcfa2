//! Calico's selector language, after projectcalico/calico `libcalico-go/lib/selector`:
//! `tokenizer/tokenizer.go` (tokens), `parser/parser.go` (grammar: `||` over `&&` over possibly
//! negated operations) and `parser/ast.go` (evaluation).
//!
//! Evaluation is three-valued ([`Match`]): the reader knows a pod's labels exactly, but of a
//! namespace only its name, so a requirement on any other namespace label is open
//! ([`Lookup::Unknown`]) and combines by Kleene's logic (`!Maybe = Maybe`, `No && _ = No`,
//! `Yes || _ = Yes`, otherwise `Maybe`).

use crate::analysis::side::Match;
use std::collections::BTreeMap;

/// Tokens of `tokenizer.go` (`Kind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Label(String),
    Str(String),
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    In,
    Not,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    All,
    Has(String),
    LParen,
    RParen,
    And,
    Or,
    Global,
    Eof,
}

/// `findIdentifier`: the leading run of `[a-zA-Z0-9_./-]`, or "" when that run reaches the end
/// of the input (the Go loop returns "" when it runs out, so a selector cannot end in a label).
fn identifier(s: &str) -> &str {
    match s.find(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c))) {
        Some(i) => &s[..i],
        None => "",
    }
}

/// `strings.TrimLeft(input, " \t")`.
fn trim(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// `AppendTokens`: the tokens of a selector, always ending with [`Tok::Eof`].
pub fn tokenize(mut input: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    loop {
        let start = input.len();
        input = trim(input);
        if input.is_empty() {
            toks.push(Tok::Eof);
            return Ok(toks);
        }
        let after_label = matches!(toks.last(), Some(Tok::Label(_)));
        let first = input.as_bytes()[0];
        let mut push = |t: Tok, n: usize, input: &mut &str| {
            toks.push(t);
            *input = &input[n..];
        };
        match first {
            b'(' => push(Tok::LParen, 1, &mut input),
            b')' => push(Tok::RParen, 1, &mut input),
            b'{' => push(Tok::LBrace, 1, &mut input),
            b'}' => push(Tok::RBrace, 1, &mut input),
            b',' => push(Tok::Comma, 1, &mut input),
            // String literals: single or double quotes, no escapes.
            b'"' | b'\'' => {
                let rest = &input[1..];
                let end = rest.find(first as char).ok_or("unterminated string")?;
                toks.push(Tok::Str(rest[..end].to_string()));
                input = &rest[end + 1..];
            }
            b'=' if input.starts_with("==") => push(Tok::Eq, 2, &mut input),
            b'=' => return Err("expected ==".into()),
            b'!' if input.starts_with("!=") => push(Tok::Ne, 2, &mut input),
            b'!' => push(Tok::Not, 1, &mut input),
            b'&' if input.starts_with("&&") => push(Tok::And, 2, &mut input),
            b'&' => return Err("expected &&".into()),
            b'|' if input.starts_with("||") => push(Tok::Or, 2, &mut input),
            b'|' => return Err("expected ||".into()),
            // Right after a label: an operator word, never another label.
            _ if after_label => {
                let expected =
                    || "unexpected characters after a label, was expecting an operator".to_string();
                // `starts with`, `ends with`, `not in`: two words, any blanks between.
                let two_words = |input: &str, first: &str, second: &str| -> Option<usize> {
                    let rest = trim(&input[first.len()..]);
                    rest.starts_with(second).then(|| input.len() - rest.len() + second.len())
                };
                if input.starts_with("contains") {
                    push(Tok::Contains, "contains".len(), &mut input)
                } else if input.starts_with("starts") {
                    let n = two_words(input, "starts", "with").ok_or_else(expected)?;
                    push(Tok::StartsWith, n, &mut input)
                } else if input.starts_with("ends") {
                    let n = two_words(input, "ends", "with").ok_or_else(expected)?;
                    push(Tok::EndsWith, n, &mut input)
                } else if input.starts_with("not") {
                    let n = two_words(input, "not", "in").ok_or_else(expected)?;
                    push(Tok::NotIn, n, &mut input)
                } else if input.starts_with("in") {
                    push(Tok::In, 2, &mut input)
                } else {
                    return Err(expected());
                }
            }
            _ if input.starts_with("has(") => {
                let rest = trim(&input[4..]);
                let ident = identifier(rest);
                if ident.is_empty() {
                    return Err("no label name in has( expression".into());
                }
                let rest = trim(&rest[ident.len()..]);
                if !rest.starts_with(')') {
                    return Err("no closing ')' after has(".into());
                }
                toks.push(Tok::Has(ident.to_string()));
                input = &rest[1..];
            }
            _ if input.starts_with("all(") || input.starts_with("global(") => {
                let (tok, n) = if input.starts_with("all(") { (Tok::All, 4) } else { (Tok::Global, 7) };
                let rest = trim(&input[n..]);
                if !rest.starts_with(')') {
                    return Err("no closing ')' after all( or global(".into());
                }
                toks.push(tok);
                input = &rest[1..];
            }
            _ => {
                let ident = identifier(input);
                if ident.is_empty() {
                    return Err("unexpected characters".into());
                }
                toks.push(Tok::Label(ident.to_string()));
                input = &input[ident.len()..];
            }
        }
        if input.len() >= start {
            return Err("infinite loop detected in tokenizer".into());
        }
    }
}

/// The nodes of `ast.go`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    All,
    Global,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// Parenthesised expressions nest at most this deep. Upstream has no limit (Go stacks grow);
/// here a deeper selector is an error rather than a stack overflow. The CRDs cap selectors at
/// 1,024 characters, so no valid selector comes near it.
const MAX_DEPTH: usize = 200;

/// `parseRoot`: an empty selector is `all()`; anything after a complete expression is an error.
pub fn parse(selector: &str) -> Result<Expr, String> {
    let toks = tokenize(selector)?;
    if toks[0] == Tok::Eof {
        return Ok(Expr::All);
    }
    let (e, rest) = or(&toks, 0)?;
    if rest.len() != 1 {
        return Err(format!("unexpected content at end of selector {:?}", &rest[..rest.len() - 1]));
    }
    Ok(e)
}

type Parsed<'t> = Result<(Expr, &'t [Tok]), String>;

// Every token list ends with `Eof`, which nothing consumes, so the next token always exists.

/// `parseOrExpression`: one or more `&&` terms separated by `||`.
fn or(t: &[Tok], depth: usize) -> Parsed<'_> {
    let (first, mut rest) = and(t, depth)?;
    let mut all = vec![first];
    while rest[0] == Tok::Or {
        let (e, r) = and(&rest[1..], depth)?;
        all.push(e);
        rest = r;
    }
    Ok((if all.len() == 1 { all.remove(0) } else { Expr::Or(all) }, rest))
}

/// `parseAndExpression`: one or more operations separated by `&&`.
fn and(t: &[Tok], depth: usize) -> Parsed<'_> {
    let (first, mut rest) = operation(t, depth)?;
    let mut all = vec![first];
    while rest[0] == Tok::And {
        let (e, r) = operation(&rest[1..], depth)?;
        all.push(e);
        rest = r;
    }
    Ok((if all.len() == 1 { all.remove(0) } else { Expr::And(all) }, rest))
}

/// `parseOperation`: one possibly negated operation; leading `!`s collapse to one negation or
/// none.
fn operation(mut t: &[Tok], depth: usize) -> Parsed<'_> {
    let mut negated = false;
    while t[0] == Tok::Not {
        negated = !negated;
        t = &t[1..];
    }
    let (e, rest) = match &t[0] {
        Tok::Has(k) => (Expr::Has(k.clone()), &t[1..]),
        Tok::All => (Expr::All, &t[1..]),
        Tok::Global => (Expr::Global, &t[1..]),
        Tok::Label(k) => {
            if t.len() < 3 {
                return Err("unexpected end of string looking for op".into());
            }
            let k = k.clone();
            match (&t[1], &t[2]) {
                (Tok::Eq, Tok::Str(v)) => (Expr::Eq(k, v.clone()), &t[3..]),
                (Tok::Ne, Tok::Str(v)) => (Expr::Ne(k, v.clone()), &t[3..]),
                (Tok::Contains, Tok::Str(v)) => (Expr::Contains(k, v.clone()), &t[3..]),
                (Tok::StartsWith, Tok::Str(v)) => (Expr::StartsWith(k, v.clone()), &t[3..]),
                (Tok::EndsWith, Tok::Str(v)) => (Expr::EndsWith(k, v.clone()), &t[3..]),
                (Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith, _) => {
                    return Err("expected string".into())
                }
                (op @ (Tok::In | Tok::NotIn), Tok::LBrace) => {
                    let mut rest = &t[3..];
                    let mut values = Vec::new();
                    while let Tok::Str(v) = &rest[0] {
                        values.push(v.clone());
                        rest = &rest[1..];
                        if rest[0] == Tok::Comma {
                            rest = &rest[1..];
                        } else {
                            break;
                        }
                    }
                    if rest[0] != Tok::RBrace {
                        return Err("expected }".into());
                    }
                    values.sort();
                    values.dedup();
                    let e = if *op == Tok::In { Expr::In(k, values) } else { Expr::NotIn(k, values) };
                    (e, &rest[1..])
                }
                (Tok::In | Tok::NotIn, _) => return Err("expected set literal".into()),
                (other, _) => return Err(format!("expected == or != not: {other:?}")),
            }
        }
        Tok::LParen => {
            if depth >= MAX_DEPTH {
                return Err(format!("parentheses nested deeper than {MAX_DEPTH}"));
            }
            let (e, rest) = or(&t[1..], depth + 1)?;
            if rest[0] != Tok::RParen {
                return Err("expected )".into());
            }
            (e, &rest[1..])
        }
        other => return Err(format!("unexpected token: {other:?}")),
    };
    Ok((if negated { Expr::Not(Box::new(e)) } else { e }, rest))
}

/// What an endpoint's labels say of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The label's value, or `None` when the endpoint certainly lacks it.
    Known(Option<&'a str>),
    /// Whether the endpoint has the label, and its value, are open.
    Unknown,
}

fn yes_if(b: bool) -> Match {
    if b {
        Match::Yes
    } else {
        Match::No
    }
}

fn not(m: Match) -> Match {
    match m {
        Match::Yes => Match::No,
        Match::No => Match::Yes,
        Match::Maybe => Match::Maybe,
    }
}

impl Expr {
    /// Whether the selector picks an endpoint whose labels `get` reads. `ast.go`: `==`, `in`,
    /// `contains`, `starts with`, `ends with` and `has` need the label; `!=` and `not in` also
    /// hold without it; `all()` is true. `global()` is true in `ast.go` too, but a rule's
    /// namespace selector rewrites it to `!has(projectcalico.org/namespace)` (`rules.go`), so
    /// the caller says what it means.
    pub fn eval<'a, F: Fn(&str) -> Lookup<'a>>(&self, get: &F, global: Match) -> Match {
        // An atom on one key: `known` for a label that is there or certainly not; `open` when
        // nothing is known of the label.
        let atom = |k: &str, known: &dyn Fn(Option<&str>) -> bool, open: Match| match get(k) {
            Lookup::Known(v) => yes_if(known(v)),
            Lookup::Unknown => open,
        };
        match self {
            Expr::All => Match::Yes,
            Expr::Global => global,
            Expr::Has(k) => atom(k, &|v| v.is_some(), Match::Maybe),
            Expr::Eq(k, x) => atom(k, &|v| v == Some(x.as_str()), Match::Maybe),
            Expr::Ne(k, x) => atom(k, &|v| v != Some(x.as_str()), Match::Maybe),
            Expr::Contains(k, x) => atom(k, &|v| v.is_some_and(|v| v.contains(x.as_str())), Match::Maybe),
            Expr::StartsWith(k, x) => {
                atom(k, &|v| v.is_some_and(|v| v.starts_with(x.as_str())), Match::Maybe)
            }
            Expr::EndsWith(k, x) => atom(k, &|v| v.is_some_and(|v| v.ends_with(x.as_str())), Match::Maybe),
            // Sets are sorted (`parse`). An empty set decides without the label.
            Expr::In(k, s) => atom(
                k,
                &|v| v.is_some_and(|v| s.binary_search_by(|x| x.as_str().cmp(v)).is_ok()),
                if s.is_empty() { Match::No } else { Match::Maybe },
            ),
            Expr::NotIn(k, s) => atom(
                k,
                &|v| v.is_none_or(|v| s.binary_search_by(|x| x.as_str().cmp(v)).is_err()),
                if s.is_empty() { Match::Yes } else { Match::Maybe },
            ),
            Expr::Not(e) => not(e.eval(get, global)),
            Expr::And(all) => {
                let mut out = Match::Yes;
                for e in all {
                    out = out.min(e.eval(get, global));
                    if out == Match::No {
                        break;
                    }
                }
                out
            }
            Expr::Or(all) => {
                let mut out = Match::No;
                for e in all {
                    out = out.max(e.eval(get, global));
                    if out == Match::Yes {
                        break;
                    }
                }
                out
            }
        }
    }

    /// Two-valued evaluation against exact labels, as `Selector.Evaluate` does.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.eval(&|k| Lookup::Known(labels.get(k).map(String::as_str)), Match::Yes) == Match::Yes
    }

    /// A label `key: value` that every endpoint the selector picks carries: a top-level
    /// conjunct `key == 'value'` or `key in {'value'}` whose key `usable` accepts.
    pub fn hint(&self, usable: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
        let conjuncts = match self {
            Expr::And(all) => all.as_slice(),
            e => std::slice::from_ref(e),
        };
        conjuncts.iter().find_map(|e| match e {
            Expr::Eq(k, v) if usable(k) => Some((k.as_str(), v.as_str())),
            Expr::In(k, s) if s.len() == 1 && usable(k) => Some((k.as_str(), s[0].as_str())),
            _ => None,
        })
    }

    /// The expression with every label name prefixed, as `PrefixVisitor` (`ast.go`) does for a
    /// service account selector (`pcsa.`) or a namespace selector (`pcns.`): every node that
    /// names a label, `has()` included; `all()` and `global()` stay.
    pub fn prefixed(&self, prefix: &str) -> Expr {
        let p = |k: &String| format!("{prefix}{k}");
        match self {
            Expr::All => Expr::All,
            Expr::Global => Expr::Global,
            Expr::Has(k) => Expr::Has(p(k)),
            Expr::Eq(k, v) => Expr::Eq(p(k), v.clone()),
            Expr::Ne(k, v) => Expr::Ne(p(k), v.clone()),
            Expr::Contains(k, v) => Expr::Contains(p(k), v.clone()),
            Expr::StartsWith(k, v) => Expr::StartsWith(p(k), v.clone()),
            Expr::EndsWith(k, v) => Expr::EndsWith(p(k), v.clone()),
            Expr::In(k, s) => Expr::In(p(k), s.clone()),
            Expr::NotIn(k, s) => Expr::NotIn(p(k), s.clone()),
            Expr::Not(e) => Expr::Not(Box::new(e.prefixed(prefix))),
            Expr::And(all) => Expr::And(all.iter().map(|e| e.prefixed(prefix)).collect()),
            Expr::Or(all) => Expr::Or(all.iter().map(|e| e.prefixed(prefix)).collect()),
        }
    }

    /// Every label name the expression reads.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::All | Expr::Global => {}
                Expr::Has(k)
                | Expr::Eq(k, _)
                | Expr::Ne(k, _)
                | Expr::Contains(k, _)
                | Expr::StartsWith(k, _)
                | Expr::EndsWith(k, _)
                | Expr::In(k, _)
                | Expr::NotIn(k, _) => out.push(k.as_str()),
                Expr::Not(x) => stack.push(x),
                Expr::And(all) | Expr::Or(all) => stack.extend(all.iter()),
            }
        }
        out.into_iter()
    }

    /// Whether the expression uses `global()` anywhere.
    pub fn uses_global(&self) -> bool {
        match self {
            Expr::Global => true,
            Expr::Not(e) => e.uses_global(),
            Expr::And(all) | Expr::Or(all) => all.iter().any(Expr::uses_global),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
