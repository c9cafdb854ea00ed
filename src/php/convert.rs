//! PHP arrays in and out, by hand and in order.
//!
//! [`Fields`] reads an associative array strictly: unknown keys, wrong types and missing required
//! fields are `ValidationException`s naming the field (`movements[3].quantity`), never silent
//! coercions. `null` counts as absent. [`Arr`] builds arrays whose keys keep the order they were
//! inserted in.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::types::{ZendHashTable, Zval};

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
        for (key, _) in table.iter() {
            let name = key.to_string();
            if !allowed.contains(&name.as_str()) {
                return Err(Error::validation(
                    fields.name(&name),
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
