//! Calico selector expressions: a workload's label selector, a namespace by name, and the
//! quoting of values (`libcalico-go/lib/selector/tokenizer`), with each written once per target.

use super::*;

/// Each workload's selector expression and each namespace's by-name selector, written once
/// for the whole target: a workload is named by every rule that has it as a peer, and each
/// naming wrote the same expression again.
pub(super) struct Memo {
    pub(super) workloads: Vec<std::sync::OnceLock<Result<String, String>>>,
    pub(super) namespaces: Vec<std::sync::OnceLock<String>>,
}

impl Memo {
    pub(super) fn new(program: &Program) -> Self {
        Memo {
            workloads: program.workloads.iter().map(|_| std::sync::OnceLock::new()).collect(),
            namespaces: program.namespaces.iter().map(|_| std::sync::OnceLock::new()).collect(),
        }
    }
}

pub(super) fn namespace_by_name(name: &str) -> String {
    // Namespace names are DNS labels, so they never need anything but plain quotes.
    format!("{NAMESPACE_NAME_LABEL} == '{name}'")
}

/// A string literal in Calico's selector language: single or double quotes and no escapes
/// (`tokenizer.go`), so a value holding both quote characters cannot be written.
pub fn quote(value: &str) -> Option<String> {
    if !value.contains('\'') {
        Some(format!("'{value}'"))
    } else if !value.contains('"') {
        Some(format!("\"{value}\""))
    } else {
        None
    }
}

/// A label selector as a Calico selector expression: `k == 'v'`, `k in {'a', 'b'}`,
/// `k not in {…}` (which, like Kubernetes `NotIn`, also matches pods without the label),
/// `has(k)`, `!has(k)`, joined by `&&`; `all()` when empty. `Err` says what cannot be written.
pub fn selector_expr(s: &LabelSelector) -> Result<String, String> {
    let q =
        |v: &str| quote(v).ok_or_else(|| format!("the label value `{v}`, which holds both quote characters"));
    let set = |values: &[String]| -> Result<String, String> {
        Ok(format!("{{{}}}", values.iter().map(|v| q(v)).collect::<Result<Vec<_>, _>>()?.join(", ")))
    };
    let mut parts = Vec::new();
    for (k, v) in &s.match_labels {
        parts.push(format!("{k} == {}", q(v)?));
    }
    for e in &s.expressions {
        parts.push(match e.op {
            LabelOp::In => format!("{} in {}", e.key, set(&e.values)?),
            LabelOp::NotIn => format!("{} not in {}", e.key, set(&e.values)?),
            LabelOp::Exists => format!("has({})", e.key),
            LabelOp::DoesNotExist => format!("!has({})", e.key),
        });
    }
    let expr = if parts.is_empty() { "all()".to_string() } else { parts.join(" && ") };
    if expr.len() > MAX_SELECTOR {
        return Err(format!("a selector of {} characters (Calico allows {MAX_SELECTOR})", expr.len()));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::LabelExpr;

    #[test]
    fn quoting_picks_a_quote_the_value_lacks() {
        assert_eq!(quote("web").as_deref(), Some("'web'"));
        assert_eq!(quote("").as_deref(), Some("''"));
        assert_eq!(quote("it's").as_deref(), Some("\"it's\""));
        assert_eq!(quote("say \"hi\"").as_deref(), Some("'say \"hi\"'"));
        assert_eq!(quote("both ' and \""), None);
    }

    #[test]
    fn selectors_render_every_operator() {
        let s = LabelSelector {
            match_labels: BTreeMap::from([("app.kubernetes.io/name".to_string(), "kafka".to_string())]),
            expressions: vec![
                LabelExpr { key: "tier".into(), op: LabelOp::In, values: vec!["a".into(), "b".into()] },
                LabelExpr { key: "env".into(), op: LabelOp::NotIn, values: vec!["test".into()] },
                LabelExpr { key: "team".into(), op: LabelOp::Exists, values: vec![] },
                LabelExpr { key: "legacy".into(), op: LabelOp::DoesNotExist, values: vec![] },
            ],
        };
        assert_eq!(
            selector_expr(&s).unwrap(),
            "app.kubernetes.io/name == 'kafka' && tier in {'a', 'b'} && env not in {'test'} && has(team) && !has(legacy)"
        );
        assert_eq!(selector_expr(&LabelSelector::default()).unwrap(), "all()");
    }

    #[test]
    fn unwritable_selectors_are_errors() {
        let both = LabelSelector {
            match_labels: BTreeMap::from([("k".to_string(), "a'b\"c".to_string())]),
            expressions: vec![],
        };
        assert!(selector_expr(&both).unwrap_err().contains("both quote characters"));
        let long = LabelSelector {
            match_labels: BTreeMap::new(),
            expressions: vec![LabelExpr {
                key: "k".into(),
                op: LabelOp::In,
                values: (0..200).map(|i| format!("value-{i}")).collect(),
            }],
        };
        assert!(selector_expr(&long).unwrap_err().contains("1024"));
    }
}
