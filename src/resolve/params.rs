//! Typed parameters: declarations, `--set` overrides, and conditions on them.

use super::error::ResolveError;
use super::Resolver;
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, LiteralKind};
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Cidr,
    Bool,
    Int,
    Port,
    String,
}

impl ParamType {
    fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "cidr" => ParamType::Cidr,
            "bool" => ParamType::Bool,
            "int" => ParamType::Int,
            "port" => ParamType::Port,
            "string" => ParamType::String,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::Cidr => "cidr",
            ParamType::Bool => "bool",
            ParamType::Int => "int",
            ParamType::Port => "port",
            ParamType::String => "string",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Cidr(IpNet),
    Bool(bool),
    Int(u32),
    Port(u16),
    String(String),
}

#[derive(Clone, Debug)]
pub struct Param {
    pub ty: ParamType,
    pub value: Option<Value>,
    pub span: Span,
}

/// A `--set name=value` from the command line, with spans into a virtual source file.
#[derive(Clone, Debug)]
pub struct Override {
    pub name: Spanned<String>,
    pub value: Spanned<String>,
}

impl Value {
    fn from_literal(ty: ParamType, lit: &ast::Literal) -> Option<Value> {
        Some(match (ty, &lit.kind) {
            (ParamType::Cidr, LiteralKind::Cidr(n)) => Value::Cidr(*n),
            (ParamType::Bool, LiteralKind::Bool(b)) => Value::Bool(*b),
            (ParamType::Int, LiteralKind::Number(n)) => Value::Int(*n),
            (ParamType::Port, LiteralKind::Number(n @ 1..=65535)) => Value::Port(*n as u16),
            (ParamType::String, LiteralKind::String(s) | LiteralKind::Name(s)) => Value::String(s.clone()),
            _ => return None,
        })
    }

    fn from_text(ty: ParamType, s: &str) -> Option<Value> {
        Some(match ty {
            ParamType::Cidr => {
                let net = if s.contains('/') {
                    s.parse::<IpNet>().ok()?
                } else {
                    IpNet::from(s.parse::<IpAddr>().ok()?)
                };
                // Host bits, or an IPv4-mapped IPv6 address (see `SyntaxError::MappedIpv4`).
                let mapped = matches!(net, IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some());
                if net.trunc() != net || mapped {
                    return None;
                }
                Value::Cidr(net)
            }
            ParamType::Bool => Value::Bool(s.parse().ok()?),
            ParamType::Int => Value::Int(s.parse().ok()?),
            ParamType::Port => Value::Port(s.parse().ok().filter(|p: &u16| *p >= 1)?),
            ParamType::String => Value::String(s.to_string()),
        })
    }
}

impl Resolver<'_> {
    pub(super) fn declare_param(&mut self, d: &ast::ParamDecl) {
        let Some(ty) = ParamType::parse(&d.ty.name) else {
            self.errors.push(ResolveError::UnknownType { ty: d.ty.name.clone(), span: d.ty.span });
            return;
        };
        if !self.declare_global(&d.name, super::error::Kind::Param) {
            return;
        }
        let value = d.default.as_ref().and_then(|lit| {
            let v = Value::from_literal(ty, lit);
            if v.is_none() {
                self.errors.push(ResolveError::BadParamValue {
                    name: d.name.name.clone(),
                    ty: ty.name().into(),
                    value: self.text_of(lit.span),
                    span: lit.span,
                });
            }
            v
        });
        self.params.insert(d.name.name.clone(), Param { ty, value, span: d.name.span });
    }

    pub(super) fn apply_overrides(&mut self, overrides: &[Override]) {
        for o in overrides {
            let Some(param) = self.params.get_mut(&o.name.value) else {
                let suggestion = super::suggest(&o.name.value, self.params.keys().map(String::as_str));
                self.errors.push(ResolveError::UnknownParam {
                    name: o.name.value.clone(),
                    suggestion,
                    span: o.name.span,
                });
                continue;
            };
            match Value::from_text(param.ty, &o.value.value) {
                Some(v) => param.value = Some(v),
                None => self.errors.push(ResolveError::BadParamValue {
                    name: o.name.value.clone(),
                    ty: param.ty.name().into(),
                    value: o.value.value.clone(),
                    span: o.value.span,
                }),
            }
        }
    }

    /// The value of a parameter used at `span`, marking it used; reports a missing value.
    pub(super) fn param_value(&mut self, name: &str, span: Span) -> Option<(ParamType, Option<Value>)> {
        let p = self.params.get(name)?;
        let (ty, value) = (p.ty, p.value.clone());
        if value.is_none() && self.reported_no_value.insert(name.to_string()) {
            self.errors.push(ResolveError::NoValue { name: name.to_string(), span });
        }
        Some((ty, value))
    }

    /// Decides an `if` condition; `None` after reporting an error.
    pub(super) fn condition(&mut self, c: &ast::Condition) -> Option<bool> {
        let Some((ty, value)) = self.param_value(&c.param.name, c.param.span) else {
            let suggestion = super::suggest(&c.param.name, self.params.keys().map(String::as_str));
            self.errors.push(ResolveError::UnknownParam {
                name: c.param.name.clone(),
                suggestion,
                span: c.param.span,
            });
            return None;
        };
        let value = value?;
        let result = match &c.compare {
            None if ty == ParamType::Bool => value == Value::Bool(true),
            None => {
                self.errors.push(ResolveError::BadCondition {
                    message: format!("parameter `{}` is a {}, not a bool", c.param.name, ty.name()),
                    span: c.span,
                });
                return None;
            }
            Some((eq, lit)) => {
                let Some(other) = Value::from_literal(ty, lit) else {
                    self.errors.push(ResolveError::BadCondition {
                        message: format!(
                            "cannot compare {} parameter `{}` with `{}`",
                            ty.name(),
                            c.param.name,
                            self.text_of(lit.span)
                        ),
                        span: c.span,
                    });
                    return None;
                };
                (value == other) == *eq
            }
        };
        Some(result != c.negated)
    }
}
