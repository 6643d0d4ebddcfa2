//! Cache keys: JSON fields hashed by content, borrowed from the manifests.

use super::*;

// The caches' hasher: Fx (rustc's). The keys come from one set of manifests; a collision
// only costs a comparison.
use rustc_hash::FxHasher as Fx;

pub(super) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Keys that carry their own hash, computed once (tables re-hash on growth).
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached: the keys write their hash alone.
        let mut fx = Fx::with_seed(self.0 as usize);
        fx.write(bytes);
        self.0 = fx.finish();
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

pub(super) type PrehashedMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Prehashed>>;

/// A JSON value, hashed by its content (equal values, as `==` says, hash alike).
pub(super) fn hash_value<H: std::hash::Hasher>(v: &Value, h: &mut H) {
    use std::hash::Hash;
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        Value::Number(n) => {
            h.write_u8(3);
            match (n.as_u64(), n.as_i64()) {
                (Some(x), _) => h.write_u64(x),
                (None, Some(x)) => h.write_i64(x),
                (None, None) => h.write_u64(n.as_f64().unwrap_or_default().to_bits()),
            }
        }
        Value::String(s) => {
            h.write_u8(4);
            s.hash(h);
        }
        Value::Array(items) => {
            h.write_u8(5);
            h.write_usize(items.len());
            items.iter().for_each(|x| hash_value(x, h));
        }
        Value::Object(m) => {
            h.write_u8(6);
            h.write_usize(m.len());
            for (k, x) in m {
                k.hash(h);
                hash_value(x, h);
            }
        }
    }
}

/// An entity rule's deciding fields (all but its ports), borrowed from the manifest, and the
/// scope when its selectors depend on it.
#[derive(Clone, Copy)]
pub(super) struct EntityKey<'a> {
    pub(super) hash: u64,
    pub(super) map: &'a Map<String, Value>,
    pub(super) scope: Option<Scope>,
}

impl<'a> EntityKey<'a> {
    pub(super) fn new(map: &'a Map<String, Value>, scope: Option<Scope>) -> EntityKey<'a> {
        use std::hash::{Hash, Hasher};
        let mut h = Fx::default();
        for (k, v) in map.iter().filter(|(k, _)| *k != "ports" && *k != "notPorts") {
            k.hash(&mut h);
            hash_value(v, &mut h);
        }
        scope.hash(&mut h);
        EntityKey { hash: h.finish(), map, scope }
    }

    pub(super) fn fields(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.map.iter().filter(|(k, _)| *k != "ports" && *k != "notPorts")
    }
}

impl std::hash::Hash for EntityKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for EntityKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.scope == other.scope && self.fields().eq(other.fields())
    }
}

impl Eq for EntityKey<'_> {}

/// The fields that decide a rule's ports, borrowed from the manifest.
#[derive(Clone, Copy)]
pub(super) struct PortsKey<'a> {
    pub(super) hash: u64,
    pub(super) fields: [Option<&'a Value>; 5],
}

impl<'a> PortsKey<'a> {
    pub(super) fn new(fields: [Option<&'a Value>; 5]) -> PortsKey<'a> {
        use std::hash::Hasher;
        let mut h = Fx::default();
        for v in fields {
            match v {
                Some(v) => hash_value(v, &mut h),
                None => h.write_u8(0xff),
            }
        }
        PortsKey { hash: h.finish(), fields }
    }
}

impl std::hash::Hash for PortsKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for PortsKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.fields == other.fields
    }
}

impl Eq for PortsKey<'_> {}
