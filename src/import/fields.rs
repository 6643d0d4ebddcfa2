//! Field readers the dialects' translators share: label selectors, networks, and the reasons
//! netpol wrote into its own objects.

use crate::backend::{ANNOTATION_RULES, MANAGED_BY};
use crate::ir::{CidrBlock, LabelExpr, LabelOp, LabelSelector};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::BTreeMap;

/// A Kubernetes `LabelSelector` (`matchLabels`, `matchExpressions`) as the language's selector.
/// A missing selector is `{}`. `Err`: why it is not one (the readers report the same shapes).
pub fn selector(v: &Value) -> Result<LabelSelector, String> {
    if v.is_null() {
        return Ok(LabelSelector::default());
    }
    let Some(map) = v.as_object() else { return Err("a label selector must be a map".into()) };
    let mut out = LabelSelector::default();
    for key in map.keys() {
        if key != "matchLabels" && key != "matchExpressions" {
            return Err(format!("`{key}` is not a field of a label selector"));
        }
    }
    if let Some(labels) = map.get("matchLabels").filter(|l| !l.is_null()) {
        let Some(labels) = labels.as_object() else { return Err("`matchLabels` must be a map".into()) };
        for (k, v) in labels {
            let Some(v) = v.as_str() else { return Err(format!("label `{k}` must have a string value")) };
            out.match_labels.insert(k.clone(), v.to_string());
        }
    }
    if let Some(exprs) = map.get("matchExpressions").filter(|l| !l.is_null()) {
        let Some(exprs) = exprs.as_array() else { return Err("`matchExpressions` must be a list".into()) };
        for e in exprs {
            let key = e["key"].as_str().ok_or("a match expression needs a `key`")?;
            let op = match e["operator"].as_str() {
                Some("In") => LabelOp::In,
                Some("NotIn") => LabelOp::NotIn,
                Some("Exists") => LabelOp::Exists,
                Some("DoesNotExist") => LabelOp::DoesNotExist,
                other => return Err(format!("operator {other:?} is not a label selector operator")),
            };
            let mut values: Vec<String> = match &e["values"] {
                Value::Null => Vec::new(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or("values must be strings"))
                    .collect::<Result<_, _>>()?,
                _ => return Err("`values` must be a list".into()),
            };
            values.sort();
            values.dedup();
            let needs_values = matches!(op, LabelOp::In | LabelOp::NotIn);
            if needs_values == values.is_empty() {
                return Err(format!(
                    "operator {} {} values",
                    op.as_k8s(),
                    if needs_values { "needs" } else { "takes no" }
                ));
            }
            out.expressions.push(LabelExpr { key: key.to_string(), op, values });
        }
    }
    out.expressions.sort();
    out.expressions.dedup();
    Ok(out)
}

/// A network and its exceptions.
pub fn cidr(net: &str, except: &[&str]) -> Result<CidrBlock, String> {
    let parse = |s: &str| -> Result<IpNet, String> {
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| format!("`{s}` is not a network"))
    };
    let net = parse(net)?;
    let mut except = except.iter().map(|e| parse(e)).collect::<Result<Vec<_>, _>>()?;
    except.sort();
    except.dedup();
    Ok(CidrBlock { net, except })
}

/// Whether netpol wrote the object (`app.kubernetes.io/managed-by: netpol`).
pub fn from_netpol(obj: &Value) -> bool {
    obj["metadata"]["labels"][MANAGED_BY.0].as_str() == Some(MANAGED_BY.1)
}

/// The reasons netpol wrote per rule (`netpol/rules`: `ingress[0]: reason (file:line)`), by
/// rule path (`ingress[0]`).
pub fn netpol_reasons(obj: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(text) = obj["metadata"]["annotations"][ANNOTATION_RULES].as_str() else { return out };
    for line in text.lines() {
        let Some((rule, rest)) = line.split_once(": ") else { continue };
        // The reason, without the ` (file:line)` origin after it.
        let reason = match rest.rfind(" (") {
            Some(i) if rest.ends_with(')') => &rest[..i],
            _ => rest,
        };
        out.insert(rule.to_string(), reason.to_string());
    }
    out
}

/// The reason of a statement: what netpol's own object says of the rule, or where the rule came
/// from (`from NetworkPolicy shop/api spec.ingress[1]`).
pub fn reason(reasons: &BTreeMap<String, String>, own: bool, title: &str, path: &str) -> String {
    if own {
        let rule = path.strip_prefix("spec.").unwrap_or(path);
        return reasons.get(rule).cloned().unwrap_or_default();
    }
    format!("from {title} {path}")
}

/// A string field, or `Err` naming it.
pub fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("`{what}` must be a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_sort_and_refuse_bad_shapes() {
        let s = selector(&json!({"matchLabels": {"b": "1", "a": "2"},
            "matchExpressions": [{"key": "t", "operator": "In", "values": ["y", "x", "x"]}]}))
        .unwrap();
        assert_eq!(s.match_labels.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.expressions[0].values, ["x", "y"]);
        assert!(selector(&json!({"matchExpressions": [{"key": "t", "operator": "In"}]})).is_err());
        assert!(selector(
            &json!({"matchExpressions": [{"key": "t", "operator": "Exists", "values": ["a"]}]})
        )
        .is_err());
        assert!(selector(&json!({"matchLabel": {}})).is_err());
        assert_eq!(selector(&Value::Null).unwrap(), LabelSelector::default());
    }

    #[test]
    fn netpol_reasons_drop_the_origin() {
        let obj = json!({"metadata": {"annotations": {ANNOTATION_RULES:
            "ingress[0]: scrape (a.netpol:3)\negress[1] (a.netpol:4)\ningress[1]: a (b) c (x.netpol:9)"}}});
        let r = netpol_reasons(&obj);
        assert_eq!(r["ingress[0]"], "scrape");
        assert_eq!(r["ingress[1]"], "a (b) c");
        assert!(!r.contains_key("egress[1]"));
    }
}
