//! PHP arrays in and out, by hand and in order.
//!
//! [`Fields`] reads an associative array strictly: unknown keys, wrong types and missing required
//! fields are `ValidationException`s naming the field (`movements[3].quantity`), never silent
//! coercions. `null` counts as absent. [`Arr`] builds arrays whose keys keep the order they were
//! inserted in. [`entries`] walks an array's own storage for bulk input: no key is copied.

use std::fmt;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::ffi::{Bucket, ZEND_MODULE_API_NO};
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};

use crate::{Error, Result};

/// A strict reader over one PHP associative array.
pub struct Fields<'a> {
    table: &'a ZendHashTable,
    path: String,
}

impl<'a> Fields<'a> {
    /// Reads `table` as the object at `path` (empty for a top-level argument), rejecting keys not
    /// in `allowed`.
    pub fn new(table: &'a ZendHashTable, path: &str, allowed: &[&str]) -> Result<Self> {
        let fields = Fields {
            table,
            path: path.to_string(),
        };
        // Keys are compared in the array's own storage: checking a batch of movements copies
        // no key.
        for (key, _) in entries(table) {
            let known = match key {
                Key::Str(name) => allowed.iter().any(|field| field.as_bytes() == name.as_bytes()),
                Key::Int(_) => false,
            };
            if !known {
                return Err(Error::validation(
                    fields.name(&key.to_string()),
                    format!("unknown field (expected one of: {})", allowed.join(", ")),
                ));
            }
        }
        Ok(fields)
    }

    /// Reads the zval `value` at `path` as an array.
    pub fn of(value: &'a Zval, path: &str, allowed: &[&str]) -> Result<Self> {
        let table = value
            .array()
            .ok_or_else(|| Error::validation(path, format!("must be an array, got {}", type_name(value))))?;
        Fields::new(table, path, allowed)
    }

    /// The full name of field `key` for error messages.
    pub fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Zval> {
        self.table.get(key).filter(|v| !v.is_null())
    }

    /// An optional string.
    pub fn str(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.str().map(|s| Some(s.to_string())).ok_or_else(|| {
                Error::validation(self.name(key), format!("must be a UTF-8 string, got {}", type_name(v)))
            }),
        }
    }

    /// An optional string as raw bytes (any bytes, not only UTF-8).
    pub fn binary(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .zend_str()
                .map(|s| Some(s.as_bytes().to_vec()))
                .ok_or_else(|| Error::validation(self.name(key), format!("must be a string, got {}", type_name(v)))),
        }
    }

    /// A required string.
    pub fn req_str(&self, key: &str) -> Result<String> {
        self.str(key)?
            .ok_or_else(|| Error::validation(self.name(key), "is required"))
    }

    /// An optional integer (PHP int only: `"5"` and `5.0` are refused).
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.long().filter(|_| v.is_long()).map(Some).ok_or_else(|| {
                    Error::validation(self.name(key), format!("must be an integer, got {}", type_name(v)))
                })
            }
        }
    }

    /// A required integer.
    pub fn req_int(&self, key: &str) -> Result<i64> {
        self.int(key)?
            .ok_or_else(|| Error::validation(self.name(key), "is required"))
    }

    /// An optional non-negative integer that fits in `u32`.
    pub fn u32(&self, key: &str) -> Result<Option<u32>> {
        self.int(key)?
            .map(|n| {
                u32::try_from(n)
                    .map_err(|_| Error::validation(self.name(key), format!("must be between 0 and {}", u32::MAX)))
            })
            .transpose()
    }

    /// An optional number (int or float).
    pub fn float(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.is_long() => Ok(v.long().map(|n| n as f64)),
            Some(v) if v.is_double() => Ok(v.double()),
            Some(v) => Err(Error::validation(
                self.name(key),
                format!("must be a number, got {}", type_name(v)),
            )),
        }
    }

    /// An optional boolean (PHP bool only).
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.bool().filter(|_| v.is_bool()).map(Some).ok_or_else(|| {
                Error::validation(self.name(key), format!("must be true or false, got {}", type_name(v)))
            }),
        }
    }

    /// An optional nested array.
    pub fn sub(&self, key: &str, allowed: &[&str]) -> Result<Option<Fields<'a>>> {
        self.get(key)
            .map(|v| Fields::of(v, &self.name(key), allowed))
            .transpose()
    }

    /// An optional nested array as a JSON object (string keys; string, number, bool, null and
    /// nested array values, at most [`MAX_JSON_DEPTH`] deep): channel settings and credentials.
    pub fn json_object(&self, key: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let name = self.name(key);
        match json_of(v, &name, 0)? {
            serde_json::Value::Object(map) => Ok(Some(map)),
            serde_json::Value::Array(list) if list.is_empty() => Ok(Some(serde_json::Map::new())),
            _ => Err(Error::validation(name, "must be an array of named fields")),
        }
    }

    /// An optional list of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let name = self.name(key);
        list(v, &name)?
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                item.str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::validation(format!("{name}[{i}]"), "must be a string"))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// How deep [`Fields::json_object`] reads nested arrays.
pub const MAX_JSON_DEPTH: usize = 8;

/// A PHP value as JSON: a list as an array, any other array as an object.
fn json_of(value: &Zval, path: &str, depth: usize) -> Result<serde_json::Value> {
    use serde_json::Value;
    if value.is_null() {
        return Ok(Value::Null);
    }
    if value.is_bool() {
        return Ok(Value::Bool(value.bool().unwrap_or(false)));
    }
    if value.is_long() {
        return Ok(Value::from(value.long().unwrap_or(0)));
    }
    if value.is_double() {
        return value
            .double()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| Error::validation(path, "must be a finite number"));
    }
    if value.is_string() {
        return value
            .str()
            .map(|s| Value::String(s.to_string()))
            .ok_or_else(|| Error::validation(path, "must be a UTF-8 string"));
    }
    let Some(table) = value.array() else {
        return Err(Error::validation(path, format!("cannot be {}", type_name(value))));
    };
    if depth >= MAX_JSON_DEPTH {
        return Err(Error::validation(
            path,
            format!("nests deeper than {MAX_JSON_DEPTH} levels"),
        ));
    }
    if !table.is_empty() && table.has_sequential_keys() {
        return table
            .values()
            .enumerate()
            .map(|(i, item)| json_of(item, &format!("{path}[{i}]"), depth + 1))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array);
    }
    let mut map = serde_json::Map::new();
    for (key, item) in entries(table) {
        let name = key.to_string();
        let child = json_of(item, &format!("{path}.{name}"), depth + 1)?;
        map.insert(name, child);
    }
    Ok(Value::Object(map))
}

/// The values of a PHP list (keys 0, 1, 2, … in order) at `path`.
pub fn list<'a>(value: &'a Zval, path: &str) -> Result<Vec<&'a Zval>> {
    let table = value
        .array()
        .ok_or_else(|| Error::validation(path, format!("must be a list, got {}", type_name(value))))?;
    list_of(table, path)
}

/// The values of a PHP list table.
pub fn list_of<'a>(table: &'a ZendHashTable, path: &str) -> Result<Vec<&'a Zval>> {
    if !table.is_empty() && !table.has_sequential_keys() {
        return Err(Error::validation(path, "must be a list (keys 0, 1, 2, …)"));
    }
    Ok(table.values().collect())
}

/// PHP's name for the type of a value, for error messages.
pub fn type_name(value: &Zval) -> &'static str {
    if value.is_null() {
        "null"
    } else if value.is_bool() {
        "bool"
    } else if value.is_long() {
        "int"
    } else if value.is_double() {
        "float"
    } else if value.is_string() {
        "string"
    } else if value.is_array() {
        "array"
    } else if value.is_object() {
        "object"
    } else {
        "value"
    }
}

/// An ordered PHP array under construction.
pub struct Arr(ZBox<ZendHashTable>);

impl Arr {
    /// An empty array.
    pub fn new() -> Self {
        Arr(ZendHashTable::new())
    }

    /// Sets `key` to `value` (keys keep insertion order).
    pub fn set<V: IntoZval>(mut self, key: &str, value: V) -> Result<Self> {
        self.0
            .insert(key, value)
            .map_err(|e| Error::validation(key, format!("cannot be converted for PHP: {e}")))?;
        Ok(self)
    }

    /// Appends `value` (list style).
    pub fn push<V: IntoZval>(mut self, value: V) -> Result<Self> {
        self.0
            .push(value)
            .map_err(|e| Error::validation("list", format!("cannot be converted for PHP: {e}")))?;
        Ok(self)
    }

    /// The finished array.
    pub fn build(self) -> ZBox<ZendHashTable> {
        self.0
    }
}

impl Default for Arr {
    fn default() -> Self {
        Arr::new()
    }
}

/// A PHP list from items converted one by one.
pub fn list_from<T>(
    items: impl IntoIterator<Item = T>,
    convert: impl Fn(T) -> Result<ZBox<ZendHashTable>>,
) -> Result<ZBox<ZendHashTable>> {
    let mut out = Arr::new();
    for item in items {
        out = out.push(convert(item)?)?;
    }
    Ok(out.build())
}

/// A PHP list of strings.
pub fn string_list(items: &[String]) -> Result<ZBox<ZendHashTable>> {
    let mut out = Arr::new();
    for item in items {
        out = out.push(item.as_str())?;
    }
    Ok(out.build())
}

/// [`entries`] reads PHP 8.2's array layout (packed arrays hold bare zvals); the extension only
/// ever loads into the PHP it was built against, and this stops a build against an older one.
const _: () = assert!(ZEND_MODULE_API_NO >= 20220829, "entries() needs PHP 8.2 or later");

/// `HASH_FLAG_PACKED` from `Zend/zend_hash.h`: the array is a list stored as bare zvals.
const HASH_FLAG_PACKED: u32 = 1 << 2;

/// A key of a PHP array, borrowed from the array.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// An integer key (PHP stores numeric strings such as `"42"` as integers).
    Int(i64),
    /// A string key, the array's own `zend_string`.
    Str(&'a ZendStr),
}

impl<'a> Key<'a> {
    /// Whether this is the very same key as `other`: the same integer, or the same string (by
    /// address). Equal text in two different strings answers false; the same address always
    /// means the same text while both arrays are alive, since a live string is never freed.
    #[inline]
    pub fn is(self, other: Key<'_>) -> bool {
        match (self, other) {
            (Key::Int(a), Key::Int(b)) => a == b,
            (Key::Str(a), Key::Str(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    /// The same key for an array being built: a string key is shared with the input (its
    /// reference count goes up), not copied.
    #[inline]
    pub fn array_key(self) -> ArrayKey<'a> {
        match self {
            Key::Int(n) => ArrayKey::Long(n),
            Key::Str(s) => ArrayKey::ZendString(s),
        }
    }

    /// Appends the key as text to `out`; `None` when a string key is not UTF-8.
    pub fn write_to(self, out: &mut String) -> Option<()> {
        match self {
            Key::Int(n) => {
                use fmt::Write as _;
                write!(out, "{n}").ok()
            }
            Key::Str(s) => {
                out.push_str(s.as_str().ok()?);
                Some(())
            }
        }
    }
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Str(s) => f.write_str(&String::from_utf8_lossy(s.as_bytes())),
        }
    }
}

/// The entries of `table` in order, read from its storage: no key is copied and no engine
/// function is called, which is what makes reading 100,000 SKUs cheap. References (and the
/// `INDIRECT` slots of symbol tables) are followed; deleted slots are skipped.
pub fn entries(table: &ZendHashTable) -> Entries<'_> {
    // SAFETY: reading the flags word of a live array; `u` is a union of a `u32` and four `u8`s,
    // both plain data.
    let flags = unsafe { table.u.flags };
    Entries {
        table,
        next: 0,
        used: table.nNumUsed,
        packed: flags & HASH_FLAG_PACKED != 0,
    }
}

/// The entries of `table` stored in slots `start..end` (clamped to the used slots), in order.
pub fn entries_between(table: &ZendHashTable, start: u32, end: u32) -> Entries<'_> {
    let mut walk = entries(table);
    walk.used = walk.used.min(end);
    walk.next = start.min(walk.used);
    walk
}

/// Whether `value` is a deleted slot (`IS_UNDEF`).
#[inline]
fn is_undef(value: &Zval) -> bool {
    // SAFETY: the type byte of a live zval; `u1` is a union of a `u32` and four `u8`s, both plain
    // data. (`Zval::get_type` would do, but is not inlined.)
    unsafe { value.u1.v.type_ == 0 }
}

/// The iterator returned by [`entries`].
pub struct Entries<'a> {
    table: &'a ZendHashTable,
    next: u32,
    used: u32,
    packed: bool,
}

impl Entries<'_> {
    /// The storage slot the next call to `next` looks at first: one past the slot of the entry
    /// it returned last.
    #[inline]
    pub fn next_slot(&self) -> u32 {
        self.next
    }
}

/// The value in storage slot `slot` of `table` as it lies there (no reference followed, possibly
/// a deleted slot), or `None` past the used slots.
#[inline]
fn slot_value(table: &ZendHashTable, slot: u32) -> Option<&Zval> {
    if slot >= table.nNumUsed {
        return None;
    }
    // SAFETY: as in `Entries::next`: a live array's `nNumUsed` slots, zvals when packed, buckets
    // (whose value comes first) otherwise.
    unsafe {
        let flags = table.u.flags;
        Some(if flags & HASH_FLAG_PACKED != 0 {
            &*table.__bindgen_anon_1.arPacked.add(slot as usize)
        } else {
            &(*table.__bindgen_anon_1.arData.add(slot as usize)).val
        })
    }
}

/// Starts loading the key string of storage slot `slot` of `table` (nothing for a packed array,
/// an integer key or a slot past the end): for walks that add a reference to each key.
#[inline]
pub fn prefetch_key(table: &ZendHashTable, slot: u32) {
    if slot >= table.nNumUsed {
        return;
    }
    // SAFETY: as in `Entries::next`: a live hash's `nNumUsed` buckets; the key pointer is only
    // hinted at, never dereferenced.
    unsafe {
        if table.u.flags & HASH_FLAG_PACKED == 0 {
            prefetch((*table.__bindgen_anon_1.arData.add(slot as usize)).key.cast_const());
        }
    }
}

/// The array `value` holds itself (a reference is not followed: it only matters for speed here).
#[inline]
fn direct_array(value: &Zval) -> Option<&ZendHashTable> {
    // SAFETY: the type byte of a live zval, then its array pointer when the type says array.
    unsafe { (value.u1.v.type_ == IS_ARRAY_TYPE).then(|| &*value.value.arr) }
}

/// `IS_ARRAY` (`Zend/zend_types.h`).
const IS_ARRAY_TYPE: u8 = 7;

/// Asks the CPU to start loading the cache line that holds `address`. Only a hint: it changes no
/// result, and a prefetch never faults.
#[inline(always)]
fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing architecturally and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// The cache lines of `len` bytes from `start`.
#[inline(always)]
fn prefetch_bytes(start: *const u8, len: usize) {
    let mut offset = 0;
    while offset < len {
        prefetch(start.wrapping_add(offset));
        offset += 64;
    }
    if len > 0 {
        prefetch(start.wrapping_add(len - 1));
    }
}

/// The storage of `table`'s first `slots` used slots.
#[inline(always)]
fn prefetch_slots(table: &ZendHashTable, slots: u32) {
    let used = table.nNumUsed.min(slots) as usize;
    // SAFETY: reading the flags word and the storage pointer of a live array (plain data).
    let (flags, start) = unsafe { (table.u.flags, table.__bindgen_anon_1.arData.cast::<u8>().cast_const()) };
    let size = if flags & HASH_FLAG_PACKED != 0 {
        std::mem::size_of::<Zval>()
    } else {
        std::mem::size_of::<Bucket>()
    };
    prefetch_bytes(start, used * size);
}

/// Walking a two-level array of lists (`[key => [key => [a, b, c], …], …]`, the shape of
/// `allocate_many()`'s stock) is a chain of dependent loads from memory for every entry: the
/// entry's array, its storage, each list, each list's storage. [`NestedPrefetch::ahead`] starts
/// those loads for entries a few positions ahead, one step of the chain per position, so that
/// by the time an entry is read its memory is in the cache. It reads only what the step before
/// brought in, and only ever hints: what the walk returns does not depend on it.
pub struct NestedPrefetch<'a> {
    table: &'a ZendHashTable,
}

/// How many entries apart the steps of the chain run.
const PREFETCH_DISTANCE: u32 = 3;
/// At most this many levels and list items per entry are prefetched.
const PREFETCH_ITEMS: u32 = 8;

impl<'a> NestedPrefetch<'a> {
    /// For the entries of `table`.
    pub fn new(table: &'a ZendHashTable) -> Self {
        NestedPrefetch { table }
    }

    /// Starts loading for the entries after storage slot `slot` (the one about to be read).
    #[inline]
    pub fn ahead(&self, slot: u32) {
        let d = PREFETCH_DISTANCE;
        // Step 1, farthest ahead: the entry's array.
        if let Some(inner) = self.inner(slot + 4 * d) {
            prefetch(inner);
        }
        // Step 2: its storage (brought in by step 1, `d` entries ago).
        if let Some(inner) = self.inner(slot + 3 * d) {
            prefetch_slots(inner, PREFETCH_ITEMS);
        }
        // Step 3: the lists it holds.
        if let Some(inner) = self.inner(slot + 2 * d) {
            for i in 0..inner.nNumUsed.min(PREFETCH_ITEMS) {
                if let Some(list) = slot_value(inner, i).and_then(direct_array) {
                    prefetch(list);
                }
            }
        }
        // Step 4: the lists' storage.
        if let Some(inner) = self.inner(slot + d) {
            for i in 0..inner.nNumUsed.min(PREFETCH_ITEMS) {
                if let Some(list) = slot_value(inner, i).and_then(direct_array) {
                    prefetch_slots(list, PREFETCH_ITEMS);
                }
            }
        }
    }

    #[inline(always)]
    fn inner(&self, slot: u32) -> Option<&'a ZendHashTable> {
        slot_value(self.table, slot).and_then(direct_array)
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Key<'a>, &'a Zval);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.used {
            let i = self.next;
            self.next += 1;
            let slot = i as usize;
            let (key, value) = if self.packed {
                // SAFETY: a packed array stores `nNumUsed` zvals at `arPacked` (PHP ≥ 8.2), and
                // `i < nNumUsed`. The array is borrowed for `'a` and nothing here runs PHP code,
                // so it cannot change or be freed while the reference lives. A packed slot's key
                // is its position.
                let value: &'a Zval = unsafe { &*self.table.__bindgen_anon_1.arPacked.add(slot) };
                (Key::Int(i64::from(i)), value)
            } else {
                // SAFETY: a hash stores `nNumUsed` buckets at `arData`, and `i < nNumUsed`; same
                // lifetime argument as above. A bucket's `key` is null for integer keys (then
                // `h` is the key) or points to the array's own key string.
                let bucket: &'a Bucket = unsafe { &*self.table.__bindgen_anon_1.arData.add(slot) };
                let key = match unsafe { bucket.key.as_ref() } {
                    Some(key) => Key::Str(key),
                    // `h` is the integer key's bits (`zend_ulong`); PHP keys are `zend_long`.
                    None => Key::Int(bucket.h as i64),
                };
                (key, &bucket.val)
            };
            let value = value.dereference().dereference();
            if is_undef(value) {
                continue;
            }
            return Some((key, value));
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.used.saturating_sub(self.next) as usize))
    }
}
