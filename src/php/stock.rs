//! `InventorySync\allocate_many`: channel allocation for a whole catalogue in one call, from stock
//! the caller passes in (no ledger reads), and the channel rules as PHP writes them. Also the PHP
//! side of `Ledger::allocateAll()`, the same answer from the ledger's own stock.
//!
//! Built for volume, because a full sync allocates every SKU: the rules are checked once
//! ([`RuleSet`]); the stock is read straight from the arrays' storage ([`entries`]) into one
//! reused buffer of levels, so a SKU costs no allocation on the way in; quantities go out as
//! packed lists into an array sized up front, under the caller's own key strings (shared, not
//! copied). Everything is validated all the same, with the field named.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};

use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ModuleBuilder;
use ext_php_rs::ffi::{zend_hash_add_new, zend_hash_next_index_insert, Bucket, IS_LONG};
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use super::convert::{entries, entries_between, list_of, prefetch_key, type_name, Arr, Fields, Key, NestedPrefetch};
use crate::inventory;
use crate::ledger::LedgerStore;
use crate::stock::{Allocation, AllocationMode, ChannelRule, Layout, RuleSet, StockLevel};
use crate::{Error, Result};

type Table = ZBox<ZendHashTable>;

/// The fields of a channel rule, as `Ledger::allocate()` and `allocate_many()` take them.
pub(super) const RULE_FIELDS: &[&str] = &[
    "channel_id",
    "name",
    "priority",
    "mode",
    "weight",
    "buffer",
    "max",
    "zero_threshold",
    "percent",
    "include_incoming",
    "include_supplier",
    "locations",
];
const OPTION_FIELDS: &[&str] = &["locations", "supplier_stock", "explain", "threads"];
const LEDGER_OPTION_FIELDS: &[&str] = &["supplier_stock", "explain"];
const LOCATION_FIELDS: &[&str] = &["priority", "active"];

/// What each channel rule is shown for every SKU of `$stock`
/// (`['SKU-1' => ['WH1' => [on_hand, reserved, incoming], …], …]`), computed in memory from the
/// stock given. Returns `['SKU-1' => [q1, q2, …], …]` in the order of `$stock` and `$rules`, or
/// with `explain` each quantity as `['quantity' => …, 'explanation' => …]`. Options:
/// `locations` (`code => ['priority' => int, 'active' => bool]`; unlisted locations are active
/// with priority 0), `supplier_stock` (`sku => int`, for rules with `include_supplier`; SKUs not
/// in `$stock` are ignored), `explain` (default false), `threads` (the most threads the call may
/// use, 1–4; by default large catalogues are worked out on up to 4 cores, then written out on the
/// calling thread).
#[php_function]
#[php(name = "InventorySync\\allocate_many")]
pub fn allocate_many(
    stock: &ZendHashTable,
    rules: &ZendHashTable,
    options: Option<&ZendHashTable>,
) -> PhpResult<Table> {
    let rules = channel_rules(rules)?;
    let rules = RuleSet::new(&rules)?;
    let options = Options::read(options)?;
    Ok(allocate_stock(stock, &rules, &options)?)
}

/// `Ledger::allocateAll()`: every item of `store` under `rules`, from the ledger's own stock.
/// Returns `['SKU-1' => [q1, q2, …], …]` in SKU order, or with `explain` each quantity as
/// `['quantity' => …, 'explanation' => …]`. Options: `supplier_stock` (`sku => int`, for rules
/// with `include_supplier`; SKUs that are not items are ignored), `explain` (default false).
pub(super) fn allocate_ledger(
    store: &dyn LedgerStore,
    rules: &ZendHashTable,
    options: Option<&ZendHashTable>,
) -> Result<Table> {
    let rules = channel_rules(rules)?;
    let rules = RuleSet::new(&rules)?;
    let (supplier, explain) = match options {
        Some(options) => {
            let f = Fields::new(options, "", LEDGER_OPTION_FIELDS)?;
            (supplier_stock_option(options)?, f.bool("explain")?.unwrap_or(false))
        }
        None => (None, false),
    };
    let wants_supplier = rules.rules().iter().any(|rule| rule.include_supplier);
    // Every value was checked to be an integer.
    let supplier_stock = |sku: &str| {
        supplier
            .filter(|_| wants_supplier)
            .and_then(|table| table.get(sku))
            .and_then(Zval::long)
            .unwrap_or(0)
    };
    let mut out = ZendHashTable::new();
    let mut insert = |sku: &str, allocated: Table| {
        out.insert(sku, allocated).map_err(|e| {
            Error::validation(
                format!("allocation[{sku}]"),
                format!("cannot be converted for PHP: {e}"),
            )
        })
    };
    if explain {
        inventory::allocate_all_explained(store, &rules, supplier_stock, |sku, allocations| {
            insert(sku, explained_list(&allocations)?)
        })?;
    } else {
        inventory::allocate_all(store, &rules, supplier_stock, |sku, quantities| {
            insert(sku, int_list(quantities))
        })?;
    }
    Ok(out)
}

/// The `supplier_stock` option (`sku => int`), every value checked to be an integer.
fn supplier_stock_option(options: &ZendHashTable) -> Result<Option<&ZendHashTable>> {
    let Some(supplier) = options.get("supplier_stock").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let table = supplier.array().ok_or_else(|| {
        Error::validation(
            "supplier_stock",
            format!("must be an array of sku => int, got {}", type_name(supplier)),
        )
    })?;
    for (sku, value) in entries(table) {
        if !value.is_long() {
            return Err(Error::validation(
                format!("supplier_stock[{sku}]"),
                format!("must be an integer, got {}", type_name(value)),
            ));
        }
    }
    Ok(Some(table))
}

/// Registers this file's functions.
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module.function(wrap_function!(allocate_many))
}

/// A list of channel rules (`rules[i]` in messages).
pub(super) fn channel_rules(rules: &ZendHashTable) -> Result<Vec<ChannelRule>> {
    list_of(rules, "rules")?
        .into_iter()
        .enumerate()
        .map(|(i, rule)| channel_rule(&Fields::of(rule, &format!("rules[{i}]"), RULE_FIELDS)?))
        .collect()
}

/// One channel rule; the rule's own checks run later, in the core, with the others.
pub(super) fn channel_rule(f: &Fields<'_>) -> Result<ChannelRule> {
    let channel_id = f.req_int("channel_id")?;
    let mut rule = ChannelRule::new(
        channel_id,
        f.str("name")?.unwrap_or_else(|| format!("channel {channel_id}")),
    );
    rule.priority = f.int("priority")?.unwrap_or(0);
    rule.mode = allocation_mode(f)?;
    rule.buffer = f.int("buffer")?.unwrap_or(0);
    rule.max = f.int("max")?;
    rule.zero_threshold = f.int("zero_threshold")?.unwrap_or(0);
    rule.percent = f.u32("percent")?;
    rule.include_incoming = f.bool("include_incoming")?.unwrap_or(false);
    rule.include_supplier = f.bool("include_supplier")?.unwrap_or(false);
    rule.eligible_locations = f.strings("locations")?.unwrap_or_default();
    Ok(rule)
}

/// A rule's allocation mode: `shared` (the default; no weight) or `partitioned` with its weight.
/// Shared by `Ledger::allocate` rules and saved channels.
pub(super) fn allocation_mode(f: &Fields<'_>) -> Result<AllocationMode> {
    Ok(match f.str("mode")?.as_deref().unwrap_or("shared") {
        "shared" => {
            if f.int("weight")?.is_some() {
                return Err(Error::validation(
                    f.name("weight"),
                    "only partitioned rules have a weight",
                ));
            }
            AllocationMode::Shared
        }
        "partitioned" => AllocationMode::Partitioned {
            weight: f
                .u32("weight")?
                .ok_or_else(|| Error::validation(f.name("weight"), "is required in partitioned mode"))?,
        },
        other => {
            return Err(Error::validation(
                f.name("mode"),
                format!("must be \"shared\" or \"partitioned\", got {other:?}"),
            ))
        }
    })
}

/// `allocate_many()`'s options, read and checked before any SKU.
struct Options<'a> {
    /// Location settings sorted by code, for binary search.
    locations: Vec<(String, LocationSetting)>,
    /// `sku => int`, every value already checked to be an integer.
    supplier_stock: Option<&'a ZendHashTable>,
    explain: bool,
    /// The most threads the call may use (`threads`, 1–[`MAX_THREADS`]; default: as many as
    /// the catalogue's size and the cores allow).
    threads: usize,
}

#[derive(Debug, Clone, Copy)]
struct LocationSetting {
    priority: i64,
    active: bool,
}

impl Default for LocationSetting {
    fn default() -> Self {
        LocationSetting {
            priority: 0,
            active: true,
        }
    }
}

impl<'a> Options<'a> {
    fn read(options: Option<&'a ZendHashTable>) -> Result<Self> {
        let mut read = Options {
            locations: Vec::new(),
            supplier_stock: None,
            explain: false,
            threads: MAX_THREADS,
        };
        let Some(options) = options else {
            return Ok(read);
        };
        let f = Fields::new(options, "", OPTION_FIELDS)?;
        read.explain = f.bool("explain")?.unwrap_or(false);
        if let Some(threads) = f.int("threads")? {
            read.threads = usize::try_from(threads)
                .ok()
                .filter(|n| (1..=MAX_THREADS).contains(n))
                .ok_or_else(|| Error::validation("threads", format!("must be 1 to {MAX_THREADS}, got {threads}")))?;
        }
        if let Some(locations) = options.get("locations").filter(|v| !v.is_null()) {
            let table = locations.array().ok_or_else(|| {
                Error::validation("locations", format!("must be an array, got {}", type_name(locations)))
            })?;
            for (key, value) in entries(table) {
                let path = format!("locations[{key}]");
                let mut code = String::new();
                key.write_to(&mut code)
                    .ok_or_else(|| Error::validation(path.as_str(), "location codes must be UTF-8"))?;
                let setting = Fields::of(value, &path, LOCATION_FIELDS)?;
                let defaults = LocationSetting::default();
                let setting = LocationSetting {
                    priority: setting.int("priority")?.unwrap_or(defaults.priority),
                    active: setting.bool("active")?.unwrap_or(defaults.active),
                };
                read.locations.push((code, setting));
            }
            read.locations.sort_by(|a, b| a.0.cmp(&b.0));
        }
        read.supplier_stock = supplier_stock_option(options)?;
        Ok(read)
    }

    fn location(&self, code: &str) -> LocationSetting {
        self.locations
            .binary_search_by(|(known, _)| known.as_str().cmp(code))
            .ok()
            .and_then(|i| self.locations.get(i))
            .map_or_else(LocationSetting::default, |(_, setting)| *setting)
    }

    fn supplier_stock(&self, sku: Key<'_>) -> i64 {
        self.supplier_stock
            .and_then(|table| table.get(sku.array_key()))
            .and_then(Zval::long)
            .unwrap_or(0)
    }
}

/// The supplier figures with the storage slot of their SKU in `stock`, in slot order, when every
/// figure's SKU is met walking the stock once in order, under the very same key (as when the
/// figures were collected by walking the stock: PHP shares the key strings); `None` otherwise.
/// Comparing keys by identity reads no key string, so the walk costs one pass over the arrays'
/// slots; equal keys that are not the same string give `None`, and each SKU is looked up.
fn supplier_by_slot(stock: &ZendHashTable, supplier: &ZendHashTable) -> Option<Vec<(u32, i64)>> {
    let mut figures = entries(supplier).peekable();
    let mut by_slot = Vec::with_capacity(supplier.len());
    let mut walk = entries(stock);
    while let Some((sku, _)) = walk.next() {
        match figures.peek() {
            Some((key, value)) if key.is(sku) => {
                // The slot of the entry just read.
                by_slot.push((walk.next_slot() - 1, value.long().unwrap_or(0)));
                figures.next();
            }
            Some(_) => {}
            None => break,
        }
    }
    figures.peek().is_none().then_some(by_slot)
}

/// [`supplier_by_slot`] for the call's `supplier_stock`, when a rule wants supplier figures.
fn supplier_figures_in_step(
    stock: &ZendHashTable,
    rules: &RuleSet<'_>,
    options: &Options<'_>,
) -> Option<Vec<(u32, i64)>> {
    options
        .supplier_stock
        .filter(|_| rules.rules().iter().any(|rule| rule.include_supplier))
        .and_then(|supplier| supplier_by_slot(stock, supplier))
}

/// The supplier figure of each SKU of a walk over the stock's slots in order: taken in step from
/// [`supplier_by_slot`]'s pairs when there are some, else looked up; 0 when no rule wants one.
struct SupplierFigures<'a, 'o> {
    wanted: bool,
    in_step: Option<std::iter::Peekable<std::slice::Iter<'a, (u32, i64)>>>,
    options: &'a Options<'o>,
}

impl<'a, 'o> SupplierFigures<'a, 'o> {
    /// For a walk from slot `start` on.
    fn new(rules: &RuleSet<'_>, by_slot: Option<&'a [(u32, i64)]>, start: u32, options: &'a Options<'o>) -> Self {
        SupplierFigures {
            wanted: rules.rules().iter().any(|rule| rule.include_supplier),
            in_step: by_slot.map(|pairs| {
                pairs[pairs.partition_point(|(slot, _)| *slot < start)..]
                    .iter()
                    .peekable()
            }),
            options,
        }
    }

    /// The figure of `sku`, the entry at `slot` (each slot asked once, in order).
    #[inline]
    fn of(&mut self, slot: u32, sku: Key<'_>) -> i64 {
        match self.in_step.as_mut() {
            _ if !self.wanted => 0,
            Some(pairs) => pairs.next_if(|(at, _)| *at == slot).map_or(0, |(_, figure)| *figure),
            None => self.options.supplier_stock(sku),
        }
    }
}

fn allocate_stock(stock: &ZendHashTable, rules: &RuleSet<'_>, options: &Options<'_>) -> Result<Table> {
    let threads = threads_for(stock, rules, options);
    if threads > 1 {
        return allocate_on_threads(stock, rules, options, threads);
    }
    let mut out = ZendHashTable::with_capacity(u32::try_from(stock.len()).unwrap_or(u32::MAX));
    // Reused for every SKU: once they have grown, reading a SKU allocates nothing.
    let mut slots: Vec<Slot<'_>> = Vec::new();
    let mut levels: Vec<StockLevel> = Vec::new();
    let mut quantities: Vec<i64> = Vec::with_capacity(rules.rules().len());
    // Which levels count for which rule, for the locations the levels are at: remade only when
    // a SKU's locations differ from the previous one's.
    let mut layout = Layout::default();
    let by_slot = supplier_figures_in_step(stock, rules, options);
    let mut figures = SupplierFigures::new(rules, by_slot.as_deref(), 0, options);
    let prefetch = NestedPrefetch::new(stock);
    let mut walk = entries(stock);
    while let Some((sku, value)) = walk.next() {
        prefetch.ahead(walk.next_slot());
        if read_levels(sku, value, options, &mut slots, &mut levels)? {
            layout = rules.layout(&levels);
        }
        // The slot of the entry just read.
        let supplier = figures.of(walk.next_slot() - 1, sku);
        let allocated = if options.explain {
            explained(rules, &levels, supplier).map_err(|e| at_sku(e, sku))?
        } else {
            rules
                .quantities_in(&layout, &levels, supplier, &mut quantities)
                .map_err(|e| at_sku(e, sku))?;
            int_list(&quantities)
        };
        append(&mut out, sku, allocated);
    }
    Ok(out)
}

/// SKUs per thread below which one thread does it all (starting a thread costs more than it
/// saves).
const SKUS_PER_THREAD: usize = 25_000;

/// The most threads one call uses.
const MAX_THREADS: usize = 4;

/// How many threads work out the quantities of `stock`: one for small catalogues, explanations
/// (they build PHP strings) and calls without rules; else up to the cores the process may use.
fn threads_for(stock: &ZendHashTable, rules: &RuleSet<'_>, options: &Options<'_>) -> usize {
    if options.explain || rules.rules().is_empty() {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (stock.len() / SKUS_PER_THREAD).clamp(1, cores.min(options.threads))
}

/// PHP arrays (and the options holding one) read by helper threads.
///
/// SAFETY of the `Send`/`Sync` claims: the helper threads only read — array storage, integers and
/// the bytes and hashes of strings, with `zend_hash_find`-style lookups that change nothing — and
/// run only inside [`allocate_on_threads`], while the PHP thread that called it waits for them
/// inside the same native call and runs no PHP code. Nothing is allocated from or returned to the
/// engine's memory manager, no reference count is touched, and no engine globals are used, so the
/// arrays cannot change or be freed while they are read.
struct ReadOnly<'a, 'o> {
    stock: &'a ZendHashTable,
    options: &'a Options<'o>,
    /// The supplier figures by storage slot of `stock`, when they come in the stock's order
    /// ([`supplier_by_slot`]; `None`: each SKU is looked up). Set by the calling thread once
    /// the helpers have started; a chunk begun before looks its SKUs up.
    supplier: OnceLock<Option<Vec<(u32, i64)>>>,
}

unsafe impl Send for ReadOnly<'_, '_> {}
unsafe impl Sync for ReadOnly<'_, '_> {}

/// Storage slots of the stock per piece of work handed out in [`allocate_on_threads`]: small
/// enough that the threads finish close together, large enough that handing out costs nothing.
const SLOTS_PER_CHUNK: u32 = 1_024;

/// How many slots ahead of the one written out its key string is loaded.
const KEY_PREFETCH_DISTANCE: u32 = 8;

/// The quantities of `stock` worked out on `threads` threads and written out as PHP arrays on
/// this thread, in the order of `stock`. The slots are cut into chunks of [`SLOTS_PER_CHUNK`]
/// that every thread takes in turn from one counter; only this thread may build PHP arrays, so
/// it writes out the next chunk in order as soon as it is ready and works one out itself only
/// when none is (the split between working out and writing out settles by itself, whatever the
/// machine). The first invalid SKU in array order is the one reported, as when one thread does
/// it all; after it, no more chunks are handed out.
fn allocate_on_threads(
    stock: &ZendHashTable,
    rules: &RuleSet<'_>,
    options: &Options<'_>,
    threads: usize,
) -> Result<Table> {
    let used = stock.nNumUsed;
    let chunks = used.div_ceil(SLOTS_PER_CHUNK);
    let chunk = |i: u32| (i * SLOTS_PER_CHUNK, ((i + 1) * SLOTS_PER_CHUNK).min(used));
    let next = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    let shared = ReadOnly {
        stock,
        options,
        supplier: OnceLock::new(),
    };
    let width = rules.rules().len();
    let mut out = ZendHashTable::with_capacity(u32::try_from(stock.len()).unwrap_or(u32::MAX));
    // SAFETY: `out` is a new array we own, sized but not yet given its storage: this allocates
    // the storage (as the first insertion would), so that its pages can be mapped up front.
    unsafe { zend_hash_real_init_mixed(&mut *out) };
    let buckets = bucket_storage(&out);
    let mut keys = entries(stock);
    let mut write = |quantities: Result<Vec<i64>>, out: &mut ZendHashTable| -> Result<()> {
        for row in quantities?.chunks_exact(width) {
            prefetch_key(stock, keys.next_slot() + KEY_PREFETCH_DISTANCE);
            if let Some((sku, _)) = keys.next() {
                append(out, sku, int_list(row));
            }
        }
        Ok(())
    };
    let (done, ready) = mpsc::channel::<(u32, Result<Vec<i64>>)>();
    std::thread::scope(|scope| {
        for helper in 1..threads {
            let (shared, next, stop, done) = (&shared, &next, &stop, done.clone());
            scope.spawn(move || {
                if helper == 1 {
                    // The result's entries are written on this thread soon: map their pages now.
                    map_pages(buckets);
                }
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= chunks || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (start, end) = chunk(i);
                    if done.send((i, quantities_between(shared, rules, start, end))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        // Worked out while the helpers start (the first maps the result's pages first).
        let supplier = supplier_figures_in_step(stock, rules, options);
        // Only ever set here, so this cannot find it set already.
        let _ = shared.supplier.set(supplier);
        let mut waiting: Vec<Option<Result<Vec<i64>>>> = (0..chunks).map(|_| None).collect();
        let mut written = 0;
        let mut outcome = Ok(());
        while written < chunks {
            while let Ok((i, quantities)) = ready.try_recv() {
                waiting[i as usize] = Some(quantities);
            }
            if let Some(quantities) = waiting[written as usize].take() {
                outcome = write(quantities, &mut out);
                if outcome.is_err() {
                    break;
                }
                written += 1;
                continue;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i < chunks {
                let (start, end) = chunk(i);
                waiting[i as usize] = Some(quantities_between(&shared, rules, start, end));
                continue;
            }
            // Every chunk is handed out and the next one is a helper's: wait for it. (If the
            // helpers are all gone without it, one of them panicked.)
            let Ok((i, quantities)) = ready.recv() else {
                outcome = Err(Error::Validation {
                    field: "stock".into(),
                    message: "the allocation failed unexpectedly".into(),
                });
                break;
            };
            waiting[i as usize] = Some(quantities);
        }
        // On an error the helpers take no more chunks; the scope waits for the ones under way.
        stop.store(true, Ordering::Relaxed);
        outcome
    })?;
    Ok(out)
}

/// Where the entries of a mixed (string-keyed) array with storage are: address and length.
fn bucket_storage(table: &ZendHashTable) -> (usize, usize) {
    // SAFETY: reading the storage pointer and size of a live array (plain data).
    let start = unsafe { table.__bindgen_anon_1.arData } as usize;
    (start, table.nTableSize as usize * std::mem::size_of::<Bucket>())
}

/// Asks the kernel to map the pages of `(address, length)` (memory the engine allocated) for
/// writing now, in one call, rather than one page fault at a time as they are first written:
/// Linux's `MADV_POPULATE_WRITE` (5.14 and later). It changes no byte of the memory, so other
/// threads may be writing it meanwhile. Only a hint: where the kernel refuses, nothing happens.
fn map_pages((address, length): (usize, usize)) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: `sysconf` reads a constant of the system.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let first = address & !(page - 1);
        // SAFETY: the range lies in one live allocation of the engine, widened down to the start
        // of the page that holds its first byte (mapped, as that byte is); populating maps pages
        // and reads or writes no data. The result is ignored: a refusal changes nothing.
        let _ = unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                address + length - first,
                libc::MADV_POPULATE_WRITE,
            )
        };
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (address, length);
}

/// The quantities of the SKUs in slots `start..end` of the stock, one row of `rules` after the
/// other. Runs on any thread: reads PHP arrays only (see [`ReadOnly`]).
fn quantities_between(shared: &ReadOnly<'_, '_>, rules: &RuleSet<'_>, start: u32, end: u32) -> Result<Vec<i64>> {
    let ReadOnly { stock, options, .. } = *shared;
    // Not set yet (this is a helper's first chunk and the calling thread is still working the
    // figures out): each SKU is looked up, with the same answer.
    let supplier = shared.supplier.get().and_then(Option::as_deref);
    let width = rules.rules().len();
    let mut out: Vec<i64> = Vec::with_capacity((end.saturating_sub(start) as usize).saturating_mul(width));
    let mut slots: Vec<Slot<'_>> = Vec::new();
    let mut levels: Vec<StockLevel> = Vec::new();
    let mut quantities: Vec<i64> = Vec::with_capacity(width);
    let mut layout = Layout::default();
    let prefetch = NestedPrefetch::new(stock);
    let mut figures = SupplierFigures::new(rules, supplier, start, options);
    let mut walk = entries_between(stock, start, end);
    while let Some((sku, value)) = walk.next() {
        prefetch.ahead(walk.next_slot());
        if read_levels(sku, value, options, &mut slots, &mut levels)? {
            layout = rules.layout(&levels);
        }
        // The slot of the entry just read.
        let supplier = figures.of(walk.next_slot() - 1, sku);
        rules
            .quantities_in(&layout, &levels, supplier, &mut quantities)
            .map_err(|e| at_sku(e, sku))?;
        out.extend_from_slice(&quantities);
    }
    Ok(out)
}

/// Adds `value` under `key`, a key `out` does not hold yet (the keys come from one array, so
/// each is new): the engine's `zend_hash_add_new`, which skips looking for the key first. A
/// string key is shared with the input, not copied.
fn append(out: &mut ZendHashTable, key: Key<'_>, value: Table) {
    let mut zval = std::mem::ManuallyDrop::new(Zval::new());
    zval.set_hashtable(value);
    // SAFETY: `out` is an array we own and `zval` holds an array we own. Both engine functions
    // copy the zval into the array, which then owns it (so `zval` is not dropped here), and add a
    // reference to a string key that is not interned; the key is a live string of the input.
    unsafe {
        match key {
            Key::Int(n) => {
                #[allow(clippy::cast_sign_loss)]
                zend_hash_index_add_new(out, n as u64, &mut *zval);
            }
            Key::Str(name) => {
                zend_hash_add_new(out, std::ptr::from_ref(name).cast_mut(), &mut *zval);
            }
        }
    }
}

/// Where the previous SKU's location at the same position came from. Catalogues list the same
/// locations in the same order SKU after SKU, under the same key strings, so a level whose key is
/// the very same as last time keeps its code and settings instead of copying and looking them up.
#[derive(Clone, Copy)]
struct Slot<'a> {
    key: Key<'a>,
    setting: LocationSetting,
}

/// Reads `stock[sku]` into `levels` (cleared first). `slots` remembers, position by position,
/// the keys the previous SKU's levels came from. Returns whether the levels' locations (codes,
/// order, settings) may differ from the previous SKU's: false only when every key is the very
/// same as last time.
fn read_levels<'a>(
    sku: Key<'_>,
    value: &'a Zval,
    options: &Options<'_>,
    slots: &mut Vec<Slot<'a>>,
    levels: &mut Vec<StockLevel>,
) -> Result<bool> {
    let table = value.array().ok_or_else(|| {
        Error::validation(
            format!("stock[{sku}]"),
            format!(
                "must be an array of location => [on_hand, reserved, incoming], got {}",
                type_name(value)
            ),
        )
    })?;
    let mut count = 0;
    let mut changed = false;
    for (location, quantities) in entries(table) {
        let [on_hand, reserved, incoming] = read_quantities(quantities)
            .map_err(|message| Error::validation(format!("stock[{sku}][{location}]"), message))?;
        let known = slots.get(count).filter(|slot| slot.key.is(location)).copied();
        let setting = match known {
            Some(slot) => slot.setting,
            None => {
                changed = true;
                let mut code = levels
                    .get_mut(count)
                    .map_or_else(String::new, |level| std::mem::take(&mut level.location));
                code.clear();
                location.write_to(&mut code).ok_or_else(|| {
                    Error::validation(format!("stock[{sku}][{location}]"), "location codes must be UTF-8")
                })?;
                let slot = Slot {
                    key: location,
                    setting: options.location(&code),
                };
                match (slots.get_mut(count), levels.get_mut(count)) {
                    (Some(known), Some(level)) => {
                        *known = slot;
                        level.location = code;
                    }
                    _ => {
                        slots.truncate(count);
                        levels.truncate(count);
                        slots.push(slot);
                        levels.push(StockLevel::new(code, 0));
                    }
                }
                slot.setting
            }
        };
        if let Some(level) = levels.get_mut(count) {
            level.on_hand = on_hand;
            level.reserved = reserved;
            level.incoming = incoming;
            level.active = setting.active;
            level.priority = setting.priority;
        }
        count += 1;
    }
    // Fewer levels than the previous SKU: drop the rest (their strings go with them, rarely).
    changed |= count != slots.len();
    slots.truncate(count);
    levels.truncate(count);
    Ok(changed)
}

/// A PHP list of integers, written the way the engine's own `ZEND_HASH_FILL_PACKED` does: the
/// list is created with room for every item, initialised as packed, and filled in place — one
/// engine call per list instead of one per item.
fn int_list(items: &[i64]) -> Table {
    let count = u32::try_from(items.len()).unwrap_or(u32::MAX);
    let mut list = ZendHashTable::with_capacity(count);
    if items.is_empty() {
        return list;
    }
    // SAFETY: `list` is a new, uninitialised array we own. `zend_hash_real_init_packed` allocates
    // its `nTableSize` zval slots (at least `count`: `_zend_new_array` rounds the capacity up, and
    // we check) and marks it packed. Then, as `ZEND_HASH_FILL_PACKED` / `ZEND_HASH_FILL_END` in
    // `Zend/zend_hash.h` (PHP 8.2): write an integer zval into each slot, and set the counters.
    // Integers are not reference-counted, so nothing else needs to know about them.
    unsafe {
        zend_hash_real_init_packed(&mut *list);
        if list.nTableSize < count {
            for &item in items {
                let mut value = std::mem::ManuallyDrop::new(Zval::new());
                value.set_long(item);
                zend_hash_next_index_insert(&mut *list, &mut *value);
            }
            return list;
        }
        let slots = list.__bindgen_anon_1.arPacked;
        for (i, &item) in items.iter().enumerate() {
            let slot = &mut *slots.add(i);
            slot.value.lval = item;
            slot.u1.type_info = IS_LONG;
        }
        list.nNumUsed = count;
        list.nNumOfElements = count;
        list.nNextFreeElement = i64::from(count);
        list.nInternalPointer = 0;
    }
    list
}

extern "C" {
    /// `ZEND_API zval* ZEND_FASTCALL zend_hash_index_add_new(HashTable *ht, zend_ulong h, zval
    /// *pData)` (`Zend/zend_hash.c`). Not among the bindings ext-php-rs generates.
    fn zend_hash_index_add_new(ht: *mut ZendHashTable, h: u64, data: *mut Zval) -> *mut Zval;

    /// `ZEND_API void ZEND_FASTCALL zend_hash_real_init_packed(HashTable *ht)` (`Zend/zend_hash.c`;
    /// `ZEND_FASTCALL` is the default calling convention on x86-64 and arm64). Not among the
    /// bindings ext-php-rs generates.
    fn zend_hash_real_init_packed(ht: *mut ZendHashTable);

    /// `ZEND_API void ZEND_FASTCALL zend_hash_real_init_mixed(HashTable *ht)`
    /// (`Zend/zend_hash.c`): gives a new array its storage as a hash. Not among the bindings
    /// ext-php-rs generates.
    fn zend_hash_real_init_mixed(ht: *mut ZendHashTable);
}

/// `[on_hand, reserved, incoming]`: a list of exactly three integers.
fn read_quantities(value: &Zval) -> std::result::Result<[i64; 3], String> {
    let shape = |got: &str| format!("must be a list [on_hand, reserved, incoming], got {got}");
    let table = value.array().ok_or_else(|| shape(type_name(value)))?;
    let mut quantities = [0i64; 3];
    let mut count = 0;
    for (key, number) in entries(table) {
        let Some(slot) = quantities.get_mut(count) else {
            return Err(shape(&format!("an array of {} entries", table.len())));
        };
        if !matches!(key, Key::Int(k) if usize::try_from(k) == Ok(count)) {
            return Err(shape("an array whose keys are not 0, 1, 2"));
        }
        *slot = number.long().filter(|_| number.is_long()).ok_or_else(|| {
            let name = ["on_hand", "reserved", "incoming"]
                .get(count)
                .copied()
                .unwrap_or("quantity");
            format!("{name} must be an integer, got {}", type_name(number))
        })?;
        count += 1;
    }
    if count != quantities.len() {
        return Err(shape(&format!("an array of {count} entries")));
    }
    Ok(quantities)
}

fn explained(rules: &RuleSet<'_>, levels: &[StockLevel], supplier: i64) -> Result<Table> {
    explained_list(&rules.allocate(levels, supplier)?)
}

/// `[['quantity' => …, 'explanation' => …], …]`.
fn explained_list(allocations: &[Allocation]) -> Result<Table> {
    let mut list = Arr::new();
    for allocation in allocations {
        list = list.push(
            Arr::new()
                .set("quantity", allocation.quantity)?
                .set("explanation", allocation.explanation.as_str())?
                .build(),
        )?;
    }
    Ok(list.build())
}

/// A stock-level error from the core, named after the SKU it came from: `reserved` becomes
/// `stock[SKU-1].reserved` (the message names the location).
fn at_sku(error: Error, sku: Key<'_>) -> Error {
    match error {
        Error::Validation { field, message } => Error::validation(format!("stock[{sku}].{field}"), message),
        other => other,
    }
}
