//! Channel allocation: the quantity each sales channel is shown for one SKU. The rules, and the
//! choices `product.md` leaves open, are documented on [`allocate`].

use super::{
    counts, decimal, promise_total, qty, same_code, sum_available, validate_level_quantities, validate_levels,
    AvailableToPromise, PromiseOptions, Quantity, StockLevel, Trace,
};
use crate::{Error, Result};

/// How a channel's quantity is derived from the SKU's stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AllocationMode {
    /// Every shared channel sees (a buffered, capped or percentage view of) the same stock.
    #[default]
    Shared,
    /// The partitioned channels split the stock between them by weight.
    Partitioned {
        /// This channel's weight; its share is `weight / Σ weights` of the pool.
        weight: u32,
    },
}

/// A channel's allocation rule for one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRule {
    /// The channel's id; unique among the rules passed to [`allocate`].
    pub channel_id: i64,
    /// The channel's name, used in validation messages.
    pub name: String,
    /// Lower numbers win rounding ties in partitioned mode.
    pub priority: i64,
    /// Shared or partitioned.
    pub mode: AllocationMode,
    /// Units held back from this channel; not negative. Not allowed in percent mode.
    pub buffer: i64,
    /// The most this channel is ever shown; not negative. `None` = no cap.
    pub max: Option<i64>,
    /// A computed quantity at or below this is shown as 0 (avoids selling the last unit
    /// everywhere at once); not negative. 0 = off.
    pub zero_threshold: i64,
    /// Percent mode (shared channels only): show `floor(available × percent / 100)`; 0–100.
    pub percent: Option<u32>,
    /// Add the eligible locations' incoming units (available to promise).
    pub include_incoming: bool,
    /// Add the supplier's stock passed to [`allocate`].
    pub include_supplier: bool,
    /// Location codes this channel sells from; empty = every active location.
    pub eligible_locations: Vec<String>,
}

impl ChannelRule {
    /// A shared rule with no buffer, cap, threshold or percentage over every active location.
    pub fn new(channel_id: i64, name: impl Into<String>) -> Self {
        ChannelRule {
            channel_id,
            name: name.into(),
            priority: 0,
            mode: AllocationMode::Shared,
            buffer: 0,
            max: None,
            zero_threshold: 0,
            percent: None,
            include_incoming: false,
            include_supplier: false,
            eligible_locations: Vec::new(),
        }
    }

    /// Checks the rule on its own (see the module docs for what is rejected).
    pub fn validate(&self) -> Result<()> {
        let who = self.label();
        if self.buffer < 0 {
            return Err(Error::validation(
                "buffer",
                format!("{who}: must not be negative, got {}", qty(self.buffer)),
            ));
        }
        if let Some(max) = self.max.filter(|max| *max < 0) {
            return Err(Error::validation(
                "max",
                format!("{who}: must not be negative, got {}", qty(max)),
            ));
        }
        if self.zero_threshold < 0 {
            return Err(Error::validation(
                "zero_threshold",
                format!("{who}: must not be negative, got {}", qty(self.zero_threshold)),
            ));
        }
        if let Some(percent) = self.percent {
            if percent > 100 {
                return Err(Error::validation(
                    "percent",
                    format!("{who}: must be between 0 and 100, got {percent}"),
                ));
            }
            if matches!(self.mode, AllocationMode::Partitioned { .. }) {
                return Err(Error::validation(
                    "percent",
                    format!("{who}: percent mode applies to shared channels only"),
                ));
            }
            if self.buffer != 0 {
                return Err(Error::validation(
                    "buffer",
                    format!("{who}: a buffer does not apply in percent mode; set one or the other"),
                ));
            }
        }
        Ok(())
    }

    /// `channel 7 (eBay)`, for messages; formatted only when a message is built.
    fn label(&self) -> impl std::fmt::Display + '_ {
        RuleLabel(self)
    }

    fn promise_options(&self, supplier_stock: i64) -> PromiseOptions {
        PromiseOptions {
            include_incoming: self.include_incoming,
            supplier_stock: self.include_supplier.then_some(supplier_stock),
        }
    }

    fn weight(&self) -> Option<u32> {
        match self.mode {
            AllocationMode::Shared => None,
            AllocationMode::Partitioned { weight } => Some(weight),
        }
    }
}

struct RuleLabel<'a>(&'a ChannelRule);

impl std::fmt::Display for RuleLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "channel {} ({})", self.0.channel_id, self.0.name)
    }
}

/// A partitioned channel's share of the pool, before its own limits, buffer and cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// What the partitioned channels split: available to promise over the union of their
    /// eligible locations. The same for every partitioned channel.
    pub pool: i64,
    /// This channel's weight.
    pub weight: u32,
    /// The sum of all partitioned channels' weights (saturating).
    pub total_weight: u64,
    /// The rounded share; over all partitioned channels these sum to exactly `pool` (or all are
    /// 0 when every weight is 0).
    pub quantity: i64,
}

/// One channel's computed quantity and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The channel this is for.
    pub channel_id: i64,
    /// The quantity to show on the channel; never negative.
    pub quantity: i64,
    /// The number the rule started from: the channel's own available to promise (shared) or the
    /// pool (partitioned).
    pub base: i64,
    /// The weighted share, for partitioned channels.
    pub share: Option<Share>,
    /// One line with every step that changed the number, for example
    /// `available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8`.
    pub explanation: String,
}

/// The quantity each channel is shown for one SKU, in the order of `rules`.
///
/// `levels` are the SKU's stock levels; `supplier_stock` is added for rules that set
/// `include_supplier` (pass 0 when there is no supplier figure). Fails without computing anything
/// when a level or a rule is invalid.
///
/// # Rules
///
/// * **Shared** (the default) starts from the channel's own available to promise: available over
///   its eligible locations, plus incoming and supplier stock when it opts in. Then, in order:
///   `− buffer`, clamp to 0, 0 when `≤ zero_threshold`, cap at `max`.
/// * **Percent mode** (shared only) replaces the buffer step with
///   `floor(available × percent / 100)`; the zero threshold and the cap still apply after it. A
///   buffer does *not* apply in percent mode — the percentage already holds stock back — so a
///   rule with both is rejected rather than silently ignoring one of them.
/// * **Partitioned** channels split one pool: the available to promise over the *union* of their
///   eligible locations (every active location if any of them lists none). Weights split the
///   pool by largest remainder (Hamilton), so the shares sum to exactly the pool: each gets
///   `floor(pool × weight / Σ weights)`, and the units left over go one each to the largest
///   remainders, ties to the *lower* channel priority number, then the lower channel id. Weight
///   0 gets 0; when every weight is 0, every share is 0. After the split, each share is limited
///   to what the channel's *own* eligible locations can promise (a channel is never shown stock
///   its warehouses cannot ship), then buffer, zero threshold and cap apply as for shared. Every
///   step after the split only lowers a share, so the sum never exceeds the pool. Because the
///   pool is one number, partitioned channels must agree on `include_incoming` and
///   `include_supplier`.
/// * Every [`Allocation`] carries a one-line explanation showing each step that changed the
///   number, e.g. `available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8` or
///   `available 10 (WH1 10) × weight 2/3 = 6.66 → 7 (largest remainder)`.
///
/// # Errors
///
/// [`Error::Validation`] naming the field for: invalid levels (see [`super::available`]); a
/// negative `buffer`, `max` or `zero_threshold`; `percent` above 100, on a partitioned rule, or
/// with a buffer; two rules with the same `channel_id`; partitioned rules that disagree on
/// `include_incoming` or `include_supplier`.
pub fn allocate(levels: &[StockLevel], rules: &[ChannelRule], supplier_stock: i64) -> Result<Vec<Allocation>> {
    validate_levels(levels)?;
    RuleSet::checked(rules)?.allocate_valid(levels, supplier_stock)
}

/// Exactly the quantities [`allocate`] computes, in the order of `rules`, without building the
/// explanations: the same steps run, only their text is never formatted. Same errors as
/// [`allocate`].
///
/// To allocate many SKUs under the same rules, check the rules once with [`RuleSet::new`] and
/// call [`RuleSet::quantities`] for each SKU.
pub fn allocate_quantities(levels: &[StockLevel], rules: &[ChannelRule], supplier_stock: i64) -> Result<Vec<i64>> {
    validate_levels(levels)?;
    let mut quantities = Vec::with_capacity(rules.len());
    RuleSet::checked(rules)?.quantities_valid(levels, supplier_stock, &mut quantities);
    Ok(quantities)
}

/// Channel rules checked once, with what every SKU's allocation needs worked out in advance (the
/// partitioned channels, their pool's locations and their claims), for allocating many SKUs
/// under the same rules.
#[derive(Debug, Clone)]
pub struct RuleSet<'r> {
    rules: &'r [ChannelRule],
    /// The first partitioned rule: the pool's opt-ins are its (they all agree).
    pool_rule: Option<&'r ChannelRule>,
    /// The union of the partitioned rules' eligible locations; empty = every active location.
    pool_eligible: Vec<String>,
    /// One claim per partitioned rule, in rule order.
    claims: Vec<Claim>,
    /// Each claim's place in the order that breaks rounding ties (priority, channel id, rule
    /// order), in claim order.
    tie_ranks: Vec<u32>,
    /// The sum of the claims' weights.
    total_weight: u64,
    /// When the total weight is at most [`SPLIT_ROWS_MAX_WEIGHT`]: the shares of every pool
    /// smaller than it, row `r` (one share per claim) for a pool of `r` units. A pool of
    /// `q × total + r` units splits into `q × weight + row r` per claim, because its exact shares
    /// `pool × weight / total` have the floors of row `r`'s plus `q × weight` and the very same
    /// remainders, so the units left over go the same way ([`RuleSet::quick_split`]). Empty
    /// otherwise.
    split_rows: Vec<u32>,
}

/// The largest total weight of the partitioned rules for which [`RuleSet`] keeps every small
/// pool's split ready (at most this many rows of [`INLINE_CLAIMS`] shares: 16 KiB). Real rules
/// weigh a few units each.
const SPLIT_ROWS_MAX_WEIGHT: u64 = 512;

impl<'r> RuleSet<'r> {
    /// Checks `rules` (the errors are [`allocate`]'s, apart from the levels) and prepares them
    /// for many SKUs.
    pub fn new(rules: &'r [ChannelRule]) -> Result<Self> {
        let mut set = RuleSet::checked(rules)?;
        set.split_rows = set.small_pool_splits();
        Ok(set)
    }

    /// [`RuleSet::new`] without the rows of [`RuleSet::quick_split`], for one SKU's general way.
    fn checked(rules: &'r [ChannelRule]) -> Result<Self> {
        validate_rules(rules)?;
        let partitioned: Vec<&ChannelRule> = rules.iter().filter(|r| r.weight().is_some()).collect();
        let claims: Vec<Claim> = partitioned
            .iter()
            .map(|rule| Claim {
                weight: rule.weight().unwrap_or(0),
                priority: rule.priority,
                channel_id: rule.channel_id,
            })
            .collect();
        let mut order: Vec<usize> = (0..claims.len()).collect();
        order.sort_by_key(|&i| claims.get(i).map(|claim| (claim.priority, claim.channel_id, i)));
        let mut tie_ranks = vec![0u32; claims.len()];
        for (rank, &i) in order.iter().enumerate() {
            if let Some(slot) = tie_ranks.get_mut(i) {
                *slot = u32::try_from(rank).unwrap_or(u32::MAX);
            }
        }
        let total_weight = claims.iter().map(|claim| u64::from(claim.weight)).sum();
        Ok(RuleSet {
            rules,
            pool_rule: partitioned.first().copied(),
            pool_eligible: union_of_eligible(&partitioned),
            total_weight,
            claims,
            tie_ranks,
            split_rows: Vec::new(),
        })
    }

    /// [`RuleSet::split_rows`]: each pool below the total weight split the long way.
    fn small_pool_splits(&self) -> Vec<u32> {
        let total = self.total_weight;
        if total == 0 || total > SPLIT_ROWS_MAX_WEIGHT || self.claims.len() > INLINE_CLAIMS {
            return Vec::new();
        }
        let mut rows = Vec::with_capacity(self.claims.len() * usize::try_from(total).unwrap_or(0));
        let mut shares = [0i64; INLINE_CLAIMS];
        let shares = &mut shares[..self.claims.len()];
        for pool in 0..total {
            let pool = i64::try_from(pool).unwrap_or(0);
            if !self.split_by_division(pool, shares) {
                return Vec::new();
            }
            // Each share of a pool below the total is below it too.
            rows.extend(shares.iter().map(|&share| u32::try_from(share).unwrap_or(0)));
        }
        rows
    }

    /// The rules, in their order.
    pub fn rules(&self) -> &'r [ChannelRule] {
        self.rules
    }

    /// [`allocate`] for one SKU under these rules.
    pub fn allocate(&self, levels: &[StockLevel], supplier_stock: i64) -> Result<Vec<Allocation>> {
        validate_levels(levels)?;
        self.allocate_valid(levels, supplier_stock)
    }

    /// [`allocate_quantities`] for one SKU under these rules, written into `quantities` (cleared
    /// first), so one buffer serves a whole catalogue.
    pub fn quantities(&self, levels: &[StockLevel], supplier_stock: i64, quantities: &mut Vec<i64>) -> Result<()> {
        quantities.clear();
        validate_levels(levels)?;
        self.quantities_valid(levels, supplier_stock, quantities);
        Ok(())
    }

    /// Which of the levels count for each rule (and for the partitioned rules' pool), worked out
    /// once for SKUs stocked at the same locations: the same codes in the same order, with the
    /// same active flags. Then [`RuleSet::quantities_in`] allocates each such SKU without
    /// comparing a location code. Only the levels' `location` and `active` are read.
    pub fn layout(&self, levels: &[StockLevel]) -> Layout {
        // Codes that validation would reject (or more levels than a mask holds): no masks, so
        // each SKU takes the general way, which reports the same error as `quantities`.
        let valid = levels.len() <= MAX_LAYOUT_LEVELS
            && levels.iter().enumerate().all(|(i, level)| {
                !level.location.chars().all(char::is_whitespace)
                    && !levels[..i]
                        .iter()
                        .any(|earlier| same_code(&earlier.location, &level.location))
            });
        if !valid {
            return Layout { masks: None };
        }
        let mask = |eligible: &[String]| {
            levels
                .iter()
                .enumerate()
                .filter(|(_, level)| counts(level, eligible))
                .fold(0u64, |mask, (i, _)| mask | 1 << i)
        };
        let all_ones = |yes: bool| if yes { -1 } else { 0 };
        let pool = Step {
            mask: mask(&self.pool_eligible),
            add_incoming: all_ones(self.pool_rule.is_some_and(|rule| rule.include_incoming)),
            add_supplier: all_ones(self.pool_rule.is_some_and(|rule| rule.include_supplier)),
            ..Step::default()
        };
        let steps = self
            .rules
            .iter()
            .map(|rule| Step {
                mask: mask(&rule.eligible_locations),
                add_incoming: all_ones(rule.include_incoming),
                add_supplier: all_ones(rule.include_supplier),
                partitioned: rule.weight().is_some(),
                percent: i64::from(rule.percent.unwrap_or(100)),
                buffer: rule.buffer,
                zero_threshold: rule.zero_threshold,
                max: rule.max.unwrap_or(i64::MAX),
            })
            .collect();
        Layout {
            masks: Some(Masks {
                levels: levels.len(),
                pool,
                steps,
            }),
        }
    }

    /// [`RuleSet::quantities`] for a SKU whose levels have the locations `layout` was made from
    /// ([`RuleSet::layout`]; their `location` and `active` are not looked at again): the same
    /// quantities and the same errors.
    pub fn quantities_in(
        &self,
        layout: &Layout,
        levels: &[StockLevel],
        supplier_stock: i64,
        quantities: &mut Vec<i64>,
    ) -> Result<()> {
        let Some(masks) = layout.masks.as_ref().filter(|masks| masks.levels == levels.len()) else {
            return self.quantities(levels, supplier_stock, quantities);
        };
        quantities.clear();
        // The codes were checked when the layout was made; this is the rest of the validation
        // (looked at level by level only when something is wrong, for the same error).
        if levels.iter().any(|level| level.reserved < 0 || level.incoming < 0) {
            for level in levels {
                validate_level_quantities(level)?;
            }
        }
        if self.quantities_small(masks, levels, supplier_stock, quantities) {
            return Ok(());
        }
        // Available to promise over the levels a mask selects: `promise_total`'s arithmetic.
        let promise = |mask: u64, include_incoming: bool, include_supplier: bool| {
            let (available, incoming) = levels.iter().enumerate().filter(|(i, _)| mask >> i & 1 != 0).fold(
                (0i64, 0i64),
                |(available, incoming), (_, level)| {
                    (
                        available.saturating_add(level.sellable()),
                        incoming.saturating_add(level.incoming),
                    )
                },
            );
            let incoming = if include_incoming { incoming } else { 0 };
            let supplier = if include_supplier { supplier_stock } else { 0 };
            // `available` is never negative, so this is `promise_steps` on a number.
            available.saturating_add(incoming).saturating_add(supplier).max(0)
        };
        let pool = self.pool_rule.map_or(0, |first| {
            promise(masks.pool.mask, first.include_incoming, first.include_supplier)
        });
        let mut shares = [0i64; INLINE_CLAIMS];
        let Some(shares) = shares.get_mut(..self.claims.len()) else {
            // More partitioned channels than the quick split takes: the general way.
            return self.quantities(levels, supplier_stock, quantities);
        };
        if !self.quick_split(pool, shares) {
            return self.quantities(levels, supplier_stock, quantities);
        }
        let mut shares = shares.iter();
        for (rule, step) in self.rules.iter().zip(&masks.steps) {
            let own = promise(step.mask, rule.include_incoming, rule.include_supplier);
            let value = match rule.mode {
                // One share per partitioned rule, in order.
                AllocationMode::Partitioned { .. } => shares.next().copied().unwrap_or(0).min(own),
                AllocationMode::Shared => match rule.percent.filter(|p| *p != 100) {
                    Some(percent) => percent_of(own, percent),
                    None => own,
                },
            };
            quantities.push(limits(value, rule).max(0));
        }
        Ok(())
    }

    /// [`RuleSet::quantities_in`] for valid levels whose figures (and the supplier's) are all
    /// smaller than [`SMALL`] in magnitude, as a catalogue's are: then no sum can overflow, so
    /// plain arithmetic gives what the saturating steps give, and each rule is one compact
    /// [`Step`]. False (and nothing written) for any other SKU.
    #[inline]
    fn quantities_small(&self, masks: &Masks, levels: &[StockLevel], supplier: i64, quantities: &mut Vec<i64>) -> bool {
        // Every figure plus SMALL lies in [0, 2 × SMALL) exactly when it is small.
        #[allow(clippy::cast_sign_loss)]
        let shift = |figure: i64| figure.wrapping_add(SMALL) as u64;
        let spread = levels.iter().fold(shift(supplier), |spread, level| {
            spread | shift(level.on_hand) | shift(level.reserved) | shift(level.incoming)
        });
        if spread >= SMALL_SPREAD {
            return false;
        }
        if levels.len() <= SUBSET_LEVELS {
            // Available and incoming of every subset of the levels, each from a smaller one by one
            // addition: then every rule's sums are two look-ups.
            let mut available = [0i64; 1 << SUBSET_LEVELS];
            let mut incoming = [0i64; 1 << SUBSET_LEVELS];
            let mut size = 1;
            for level in levels {
                let sellable = (level.on_hand - level.reserved).max(0);
                for subset in 0..size {
                    let (from, to) = (subset & SUBSET_MASK, (size + subset) & SUBSET_MASK);
                    available[to] = available[from] + sellable;
                    incoming[to] = incoming[from] + level.incoming;
                }
                size *= 2;
            }
            // A mask only selects levels there are, so it is one of the subsets.
            let sums = |mask: u64| {
                let subset = usize::try_from(mask).unwrap_or(0) & SUBSET_MASK;
                (available[subset], incoming[subset])
            };
            self.apply_steps(masks, supplier, sums, quantities)
        } else {
            let sums = |mask: u64| {
                let (mut available, mut incoming) = (0i64, 0i64);
                for (i, level) in levels.iter().enumerate() {
                    if mask >> i & 1 != 0 {
                        available += (level.on_hand - level.reserved).max(0);
                        incoming += level.incoming;
                    }
                }
                (available, incoming)
            };
            self.apply_steps(masks, supplier, sums, quantities)
        }
    }

    /// The steps of a layout on small figures (see [`RuleSet::quantities_small`]), given the
    /// available and incoming units over any mask's levels.
    #[inline(always)]
    fn apply_steps(
        &self,
        masks: &Masks,
        supplier: i64,
        sums: impl Fn(u64) -> (i64, i64),
        quantities: &mut Vec<i64>,
    ) -> bool {
        // Available to promise: `promise_total`'s arithmetic, with no sum near overflowing.
        let promise = |step: &Step| {
            let (available, incoming) = sums(step.mask);
            (available + (incoming & step.add_incoming) + (supplier & step.add_supplier)).max(0)
        };
        let mut shares = [0i64; INLINE_CLAIMS];
        let Some(shares) = shares.get_mut(..self.claims.len()) else {
            return false;
        };
        if !shares.is_empty() && !self.quick_split(promise(&masks.pool), shares) {
            return false;
        }
        let mut shares = shares.iter();
        for step in &masks.steps {
            let own = promise(step);
            let value = if step.partitioned {
                // One share per partitioned rule, in order.
                shares.next().copied().unwrap_or(0).min(own)
            } else {
                // `own` < 2^47 here, so × 100 cannot overflow; percent 100 leaves it as it is.
                own * step.percent / 100
            };
            // [`limits`], with the cap already a number.
            let value = value.saturating_sub(step.buffer).max(0);
            let value = if value <= step.zero_threshold { 0 } else { value };
            quantities.push(value.min(step.max));
        }
        true
    }

    /// [`split`]'s shares of `pool` (never negative here) into `shares`, one per claim, in 64-bit
    /// arithmetic; false (and nothing written) when the numbers could need more than 64 bits.
    /// With [`RuleSet::split_rows`], one division and a row of them.
    #[inline]
    fn quick_split(&self, pool: i64, shares: &mut [i64]) -> bool {
        // A row holds one share per claim.
        let claims = self.claims.len();
        if claims == 0 || self.split_rows.is_empty() || shares.len() != claims {
            return self.split_by_division(pool, shares);
        }
        let Ok(pool) = u64::try_from(pool) else {
            return false;
        };
        // The rows exist only for a total weight from 1 to SPLIT_ROWS_MAX_WEIGHT.
        let total = self.total_weight;
        let (whole, rest) = (pool / total, pool % total);
        let start = usize::try_from(rest).unwrap_or(usize::MAX).saturating_mul(claims);
        let Some(row) = self.split_rows.get(start..start.saturating_add(claims)) else {
            return self.split_by_division(i64::try_from(pool).unwrap_or(i64::MAX), shares);
        };
        for ((share, claim), &extra) in shares.iter_mut().zip(&self.claims).zip(row) {
            // whole × weight ≤ pool × weight / total ≤ pool: no overflow.
            *share = i64::try_from(whole * u64::from(claim.weight) + u64::from(extra)).unwrap_or(i64::MAX);
        }
        true
    }

    /// [`RuleSet::quick_split`] worked out claim by claim: a division per claim, and the units
    /// left over handed out by comparing the claims' remainders.
    fn split_by_division(&self, pool: i64, shares: &mut [i64]) -> bool {
        let total = self.total_weight;
        let (Ok(pool), true) = (u32::try_from(pool), total <= u64::from(u32::MAX)) else {
            return false;
        };
        if total == 0 || pool == 0 {
            shares.fill(0);
            return true;
        }
        // pool < 2^32 and weight < 2^32: the product fits. Each claim's place in the order of
        // largest remainder, then tie rank, is one number: remainder (< total ≤ 2^32) above, the
        // inverted rank below; the higher the key, the earlier the claim.
        let mut keys = [0u64; INLINE_CLAIMS];
        let mut given = 0u64;
        for (((claim, share), key), rank) in self
            .claims
            .iter()
            .zip(shares.iter_mut())
            .zip(&mut keys)
            .zip(&self.tie_ranks)
        {
            let exact = u64::from(pool) * u64::from(claim.weight);
            let floor = exact / total;
            *share = i64::try_from(floor).unwrap_or(i64::MAX);
            *key = (exact % total) << 32 | u64::from(!rank);
            given += floor;
        }
        // Fewer units are left over than there are claims: one each to the first `left_over`
        // claims in that order, i.e. those with fewer than `left_over` claims before them.
        let left_over = u64::from(pool).saturating_sub(given);
        if left_over > 0 {
            let keys = keys.get(..shares.len()).unwrap_or(&[]);
            for (share, key) in shares.iter_mut().zip(keys) {
                let before = keys.iter().map(|other| u64::from(other > key)).sum::<u64>();
                *share += i64::from(before < left_over);
            }
        }
        true
    }

    /// The locations a sum is over.
    fn eligible(&self, over: Over) -> &[String] {
        match over {
            Over::Pool => &self.pool_eligible,
            Over::Rule(i) => self.rules.get(i).map_or(&[], |rule| &rule.eligible_locations),
        }
    }

    fn allocate_valid(&self, levels: &[StockLevel], supplier_stock: i64) -> Result<Vec<Allocation>> {
        let start = |over: Over, options: &PromiseOptions| {
            AvailableToPromise::new(sum_available(levels, self.eligible(over)), options).explanation()
        };
        let own = |over: Over, options: &PromiseOptions| promise_total(levels, self.eligible(over), options);
        let mut allocations = Vec::with_capacity(self.rules.len());
        self.run(supplier_stock, start, own, |rule, ex, base, share| {
            allocations.push(Allocation {
                channel_id: rule.channel_id,
                quantity: ex.value.max(0),
                base,
                share,
                explanation: ex.text,
            });
        });
        Ok(allocations)
    }

    fn quantities_valid(&self, levels: &[StockLevel], supplier_stock: i64, quantities: &mut Vec<i64>) {
        let own = |over: Over, options: &PromiseOptions| promise_total(levels, self.eligible(over), options);
        let start = |over: Over, options: &PromiseOptions| Quantity(own(over, options));
        self.run(supplier_stock, start, own, |_, quantity, _, _| {
            quantities.push(quantity.value().max(0));
        });
    }

    /// The rules applied to one SKU's validated levels, the one place the allocation steps run.
    /// `start` opens a channel's trace at the available to promise over some locations (the
    /// pool's or a rule's), `own` gives that number alone; `emit` receives each rule's finished
    /// trace, the number it started from (its own promise, or the pool) and its share, in rule
    /// order.
    fn run<T: Trace + Clone>(
        &self,
        supplier_stock: i64,
        start: impl Fn(Over, &PromiseOptions) -> T,
        own: impl Fn(Over, &PromiseOptions) -> i64,
        mut emit: impl FnMut(&'r ChannelRule, T, i64, Option<Share>),
    ) {
        let pool = self
            .pool_rule
            .map(|first| start(Over::Pool, &first.promise_options(supplier_stock)));
        let pool_total = pool.as_ref().map_or(0, Trace::value);
        with_scratch(self.claims.len(), |parts: &mut [SplitPart]| {
            split(pool_total, &self.claims, parts);
            let mut splits = parts.iter();
            for (i, rule) in self.rules.iter().enumerate() {
                let options = rule.promise_options(supplier_stock);
                // Splits come in the order of the partitioned rules, and exist whenever the pool
                // does.
                match rule.weight().and_then(|_| splits.next()).zip(pool.as_ref()) {
                    Some((part, pool)) => {
                        let own = own(Over::Rule(i), &options);
                        let mut trace = pool.clone();
                        partitioned_steps(&mut trace, rule, pool_total, part, own);
                        let share = Share {
                            pool: pool_total,
                            weight: part.weight,
                            total_weight: u64::try_from(part.total_weight).unwrap_or(u64::MAX),
                            quantity: part.quantity,
                        };
                        emit(rule, trace, pool_total, Some(share));
                    }
                    None => {
                        let mut trace = start(Over::Rule(i), &options);
                        let base = trace.value();
                        shared_steps(&mut trace, rule);
                        emit(rule, trace, base, None);
                    }
                }
            }
        });
    }
}

/// The locations a sum is over: the partitioned rules' pool, or one rule's own (by index).
#[derive(Debug, Clone, Copy)]
enum Over {
    Pool,
    Rule(usize),
}

/// A [`Layout`] holds one bit per level.
const MAX_LAYOUT_LEVELS: usize = 64;

/// Which levels count for each sum of a [`RuleSet`], for SKUs stocked at the same locations in
/// the same order ([`RuleSet::layout`]).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// `None` when the codes would be rejected, or there are too many levels: such SKUs take
    /// the general way.
    masks: Option<Masks>,
}

#[derive(Debug, Clone)]
struct Masks {
    /// How many levels the layout was made for.
    levels: usize,
    /// The pool's sum, as a step (only its mask and opt-ins are used).
    pool: Step,
    /// Each rule, in rule order.
    steps: Vec<Step>,
}

/// One rule as [`RuleSet::quantities_small`] applies it to a layout's levels.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    /// Bit `i` set = level `i` counts for the rule.
    mask: u64,
    /// All ones when the rule adds incoming units, else 0.
    add_incoming: i64,
    /// All ones when the rule adds the supplier's stock, else 0.
    add_supplier: i64,
    /// Whether the rule takes a share of the partitioned pool.
    partitioned: bool,
    /// Percent mode's percentage; 100 when the rule has none.
    percent: i64,
    buffer: i64,
    zero_threshold: i64,
    /// The cap; `i64::MAX` when the rule has none.
    max: i64,
}

/// Figures below this in magnitude (2^40, about a trillion units) take the quick way: a sum of
/// 64 levels' figures plus a supplier's stays below 2^47, and × 100 below 2^54.
const SMALL: i64 = 1 << 40;
/// A figure is small when it plus [`SMALL`] is below this.
const SMALL_SPREAD: u64 = 1 << 41;
/// Up to this many levels, [`RuleSet::quantities_small`] sums every subset of them once.
const SUBSET_LEVELS: usize = 4;
/// Indexes of those subsets.
const SUBSET_MASK: usize = (1 << SUBSET_LEVELS) - 1;

fn validate_rules(rules: &[ChannelRule]) -> Result<()> {
    let mut first_partitioned: Option<&ChannelRule> = None;
    for (i, rule) in rules.iter().enumerate() {
        rule.validate()?;
        if let Some(earlier) = rules[..i].iter().find(|r| r.channel_id == rule.channel_id) {
            return Err(Error::validation(
                "channel_id",
                format!("{} and {} share an id", earlier.label(), rule.label()),
            ));
        }
        if rule.weight().is_none() {
            continue;
        }
        let Some(first) = first_partitioned else {
            first_partitioned = Some(rule);
            continue;
        };
        let differs = |field: &str| {
            Error::validation(
                field,
                format!(
                    "partitioned channels split one pool, so they must agree on it: \
                     {} differs from {}",
                    rule.label(),
                    first.label()
                ),
            )
        };
        if rule.include_incoming != first.include_incoming {
            return Err(differs("include_incoming"));
        }
        if rule.include_supplier != first.include_supplier {
            return Err(differs("include_supplier"));
        }
    }
    Ok(())
}

/// The union of the rules' eligible locations; empty (= all) if any rule lists none.
fn union_of_eligible(rules: &[&ChannelRule]) -> Vec<String> {
    if rules.iter().any(|rule| rule.eligible_locations.is_empty()) {
        return Vec::new();
    }
    let mut union: Vec<String> = rules
        .iter()
        .flat_map(|rule| rule.eligible_locations.iter().cloned())
        .collect();
    union.sort();
    union.dedup();
    union
}

/// `floor(value × percent / 100)` for a non-negative value, as [`shared_steps`] computes it.
#[inline]
fn percent_of(value: i64, percent: u32) -> i64 {
    // Below 2^57 the product fits in 64 bits, and dividing by the constant 100 is a multiply.
    if let Some(small) = u64::try_from(value).ok().filter(|v| *v < 1 << 57) {
        return i64::try_from(small * u64::from(percent) / 100).unwrap_or(i64::MAX);
    }
    let scaled = u128::try_from(value).unwrap_or(0) * u128::from(percent);
    let floor = div_rem(scaled, 100).map_or(0, |(floor, _)| floor);
    i64::try_from(floor).unwrap_or(i64::MAX)
}

/// [`apply_limits`] on a number, written without branches on the number (a catalogue's numbers
/// are too varied for branch prediction): the buffer (never negative) comes off, a negative
/// number becomes 0, a number at or below the zero threshold becomes 0, the cap applies.
#[inline]
fn limits(value: i64, rule: &ChannelRule) -> i64 {
    let value = value.saturating_sub(rule.buffer).max(0);
    let value = if value <= rule.zero_threshold { 0 } else { value };
    value.min(rule.max.unwrap_or(i64::MAX))
}

/// Percent mode on the channel's own available to promise, then the limits.
fn shared_steps(trace: &mut impl Trace, rule: &ChannelRule) {
    if let Some(percent) = rule.percent.filter(|p| *p != 100) {
        let scaled = u128::try_from(trace.value()).unwrap_or(0) * u128::from(percent);
        let (floor, remainder) = div_rem(scaled, 100).unwrap_or((0, 0));
        let floored = i64::try_from(floor).unwrap_or(i64::MAX);
        let op = || format!("× {percent}%");
        if remainder == 0 {
            trace.op(floored, op);
        } else {
            trace.op_rounded(floored, op, || decimal(scaled, 100), "rounded down");
        }
    }
    apply_limits(trace, rule);
}

/// From the pool (the trace's value) to the channel's weighted share, limited to what its own
/// locations can promise (`own`), then the limits.
fn partitioned_steps(trace: &mut impl Trace, rule: &ChannelRule, pool: i64, part: &SplitPart, own: i64) {
    let weight = part.weight;
    if part.total_weight == 0 {
        trace.op(0, || "× weight 0 (all weights 0)".to_owned());
    } else {
        let op = || format!("× weight {weight}/{}", part.total_weight);
        if part.remainder == 0 {
            trace.op(part.quantity, op);
        } else {
            let exact = || {
                let numerator = u128::try_from(pool).unwrap_or(0).saturating_mul(u128::from(weight));
                decimal(numerator, part.total_weight)
            };
            let how = if part.rounded_up {
                "largest remainder"
            } else {
                "rounded down"
            };
            trace.op_rounded(part.quantity, op, exact, how);
        }
    }
    if own < trace.value() {
        trace.limit(own, || format!("own locations {}", qty(own)));
    }
    apply_limits(trace, rule);
}

/// Buffer, clamp to 0, zero threshold, cap — each only ever lowers the number (or lifts a
/// negative one to 0), and each appears in the explanation only when it changed the number.
fn apply_limits(trace: &mut impl Trace, rule: &ChannelRule) {
    if rule.buffer > 0 {
        let value = trace.value().saturating_sub(rule.buffer);
        trace.op(value, || format!("− buffer {}", qty(rule.buffer)));
    }
    if trace.value() < 0 {
        trace.limit(0, || "below 0".to_owned());
    }
    if trace.value() > 0 && trace.value() <= rule.zero_threshold {
        trace.limit(0, || format!("≤ zero threshold {}", qty(rule.zero_threshold)));
    }
    if let Some(max) = rule.max.filter(|max| trace.value() > *max) {
        trace.limit(max, || format!("max {}", qty(max)));
    }
}

/// One partitioned channel's claim on the pool.
#[derive(Debug, Clone, Copy)]
struct Claim {
    weight: u32,
    priority: i64,
    channel_id: i64,
}

/// One claim's result from [`split`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SplitPart {
    weight: u32,
    total_weight: u128,
    /// The share after rounding.
    quantity: i64,
    /// `pool × weight mod total_weight`: the exact share's fractional part, scaled.
    remainder: u128,
    /// Whether the largest-remainder step gave this claim one more unit.
    rounded_up: bool,
}

/// Splits `pool` by weight with largest-remainder (Hamilton) rounding: every claim gets
/// `floor(pool × w / W)`, then the units left over go one each to the largest remainders, ties to
/// the lower priority number, then the lower channel id, then the earlier claim. The parts sum to
/// exactly `pool` when `W > 0`; all parts are 0 when `W = 0` or `pool ≤ 0`. Writes one part per
/// claim into `parts` (as long as `claims`).
///
/// At most `pool < 2^63` times `w < 2^32` is multiplied, so `u128` never overflows.
fn split(pool: i64, claims: &[Claim], parts: &mut [SplitPart]) {
    let pool = u128::try_from(pool).unwrap_or(0);
    let total_weight = claims
        .iter()
        .fold(0u128, |sum, claim| sum.saturating_add(u128::from(claim.weight)));
    for (claim, part) in claims.iter().zip(parts.iter_mut()) {
        let exact = pool * u128::from(claim.weight);
        // With every weight 0 there is nothing to divide by: every share is 0.
        let (floor, remainder) = div_rem(exact, total_weight).unwrap_or((0, 0));
        *part = SplitPart {
            weight: claim.weight,
            total_weight,
            quantity: i64::try_from(floor).unwrap_or(i64::MAX),
            remainder,
            rounded_up: false,
        };
    }
    if total_weight == 0 {
        return;
    }

    let given = parts.iter().fold(0u128, |sum, part| {
        sum.saturating_add(part.quantity.unsigned_abs().into())
    });
    let left_over = usize::try_from(pool.saturating_sub(given)).unwrap_or(usize::MAX);
    if left_over == 0 {
        return;
    }
    with_scratch(parts.len(), |order: &mut [usize]| {
        for (i, slot) in order.iter_mut().enumerate() {
            *slot = i;
        }
        order.sort_unstable_by(|&a, &b| {
            parts[b]
                .remainder
                .cmp(&parts[a].remainder)
                .then(claims[a].priority.cmp(&claims[b].priority))
                .then(claims[a].channel_id.cmp(&claims[b].channel_id))
                .then(a.cmp(&b))
        });
        for &i in order.iter().take(left_over) {
            if let Some(part) = parts.get_mut(i) {
                part.quantity = part.quantity.saturating_add(1);
                part.rounded_up = true;
            }
        }
    });
}

/// `n / d` and `n % d`, `None` when `d` is 0. In 64 bits whenever both fit — the usual case, and
/// several times cheaper than 128-bit division.
fn div_rem(n: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 {
        return None;
    }
    Some(match (u64::try_from(n), u64::try_from(d)) {
        (Ok(n), Ok(d)) => (u128::from(n / d), u128::from(n % d)),
        _ => (n / d, n % d),
    })
}

/// Up to this many partitioned channels, a split works on the stack.
const INLINE_CLAIMS: usize = 8;

/// Runs `work` on `n` default values: on the stack for up to [`INLINE_CLAIMS`], else on the
/// heap. Allocating a catalogue's worth of small buffers costs more than the arithmetic.
fn with_scratch<T: Copy + Default, R>(n: usize, work: impl FnOnce(&mut [T]) -> R) -> R {
    let mut inline = [T::default(); INLINE_CLAIMS];
    match inline.get_mut(..n) {
        Some(slots) => work(slots),
        None => work(&mut vec![T::default(); n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(code: &str, on_hand: i64) -> StockLevel {
        StockLevel::new(code, on_hand)
    }

    fn shared(id: i64) -> ChannelRule {
        ChannelRule::new(id, format!("ch{id}"))
    }

    fn weighted(id: i64, weight: u32) -> ChannelRule {
        ChannelRule {
            mode: AllocationMode::Partitioned { weight },
            ..shared(id)
        }
    }

    fn only(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|code| code.to_string()).collect()
    }

    /// Allocates and compares each channel's `(quantity, explanation)`, in rule order.
    fn check(levels: &[StockLevel], rules: &[ChannelRule], supplier: i64, expected: &[(i64, &str)]) {
        let got = match allocate(levels, rules, supplier) {
            Ok(got) => got,
            Err(e) => panic!("rules {rules:?}: unexpected error {e}"),
        };
        let got: Vec<(i64, &str)> = got.iter().map(|a| (a.quantity, a.explanation.as_str())).collect();
        assert_eq!(got, expected, "levels {levels:?}\nrules {rules:?}");
    }

    /// Like [`check`] for quantities only.
    fn check_quantities(levels: &[StockLevel], rules: &[ChannelRule], expected: &[i64]) {
        let got = match allocate(levels, rules, 0) {
            Ok(got) => got,
            Err(e) => panic!("rules {rules:?}: unexpected error {e}"),
        };
        let got: Vec<i64> = got.iter().map(|a| a.quantity).collect();
        assert_eq!(got, expected, "levels {levels:?}\nrules {rules:?}");
    }

    #[test]
    fn shared_table() {
        let two = [level("WH1", 9), level("WH2", 3)];
        let one = |n| [level("WH1", n)];

        // The product's example, verbatim.
        check(
            &two,
            &[ChannelRule {
                buffer: 2,
                max: Some(8),
                ..shared(1)
            }],
            0,
            &[(8, "available 12 (WH1 9 + WH2 3) − buffer 2 = 10, max 8 → 8")],
        );
        // Default rule: everything available, nothing to explain beyond the sum.
        check(&two, &[shared(1)], 0, &[(12, "available 12 (WH1 9 + WH2 3)")]);
        // A cap that is not reached and a threshold that is not hit do not show.
        check(
            &two,
            &[ChannelRule {
                buffer: 2,
                max: Some(50),
                zero_threshold: 3,
                ..shared(1)
            }],
            0,
            &[(10, "available 12 (WH1 9 + WH2 3) − buffer 2 = 10")],
        );
        // Buffer larger than available: clamp to 0.
        check(
            &one(1),
            &[ChannelRule { buffer: 2, ..shared(1) }],
            0,
            &[(0, "available 1 (WH1 1) − buffer 2 = −1, below 0 → 0")],
        );
        // Zero threshold: at or below it shows 0; above it does not.
        check(
            &one(5),
            &[ChannelRule {
                buffer: 2,
                zero_threshold: 3,
                ..shared(1)
            }],
            0,
            &[(0, "available 5 (WH1 5) − buffer 2 = 3, ≤ zero threshold 3 → 0")],
        );
        check(
            &one(2),
            &[ChannelRule {
                zero_threshold: 3,
                ..shared(1)
            }],
            0,
            &[(0, "available 2 (WH1 2), ≤ zero threshold 3 → 0")],
        );
        check(
            &one(4),
            &[ChannelRule {
                zero_threshold: 3,
                ..shared(1)
            }],
            0,
            &[(4, "available 4 (WH1 4)")],
        );
        check(
            &one(0),
            &[ChannelRule {
                zero_threshold: 3,
                ..shared(1)
            }],
            0,
            &[(0, "available 0 (WH1 0)")],
        );
        // Max 0 hides the product on that channel.
        check(
            &one(4),
            &[ChannelRule {
                max: Some(0),
                ..shared(1)
            }],
            0,
            &[(0, "available 4 (WH1 4), max 0 → 0")],
        );
        // Each shared channel sees its own eligible locations; every channel sees the same stock.
        check(
            &two,
            &[
                ChannelRule {
                    eligible_locations: only(&["WH2"]),
                    ..shared(1)
                },
                shared(2),
            ],
            0,
            &[(3, "available 3 (WH2 3)"), (12, "available 12 (WH1 9 + WH2 3)")],
        );
        check(
            &two,
            &[ChannelRule {
                eligible_locations: only(&["WH7"]),
                ..shared(1)
            }],
            0,
            &[(0, "available 0 (no eligible location)")],
        );
        // Oversold and inactive locations add nothing.
        let mixed = [
            level("WH1", 9),
            level("WH2", -4),
            StockLevel {
                active: false,
                ..level("WH3", 40)
            },
        ];
        check(&mixed, &[shared(1)], 0, &[(9, "available 9 (WH1 9 + WH2 0)")]);
        check(&[], &[shared(1)], 0, &[(0, "available 0 (no eligible location)")]);
        check(&two, &[], 0, &[]);
    }

    #[test]
    fn percent_mode_table() {
        let one = |n| [level("WH1", n)];
        let pct = |p| ChannelRule {
            percent: Some(p),
            ..shared(1)
        };

        check(
            &[level("WH1", 9), level("WH2", 3)],
            &[pct(50)],
            0,
            &[(6, "available 12 (WH1 9 + WH2 3) × 50% = 6")],
        );
        check(
            &one(7),
            &[pct(50)],
            0,
            &[(3, "available 7 (WH1 7) × 50% = 3.50 → 3 (rounded down)")],
        );
        check(
            &one(10),
            &[pct(33)],
            0,
            &[(3, "available 10 (WH1 10) × 33% = 3.30 → 3 (rounded down)")],
        );
        check(
            &one(1),
            &[pct(99)],
            0,
            &[(0, "available 1 (WH1 1) × 99% = 0.99 → 0 (rounded down)")],
        );
        check(&one(7), &[pct(100)], 0, &[(7, "available 7 (WH1 7)")]);
        check(&one(7), &[pct(0)], 0, &[(0, "available 7 (WH1 7) × 0% = 0")]);
        // Zero threshold and cap still apply after the percentage.
        check(
            &one(100),
            &[ChannelRule {
                max: Some(20),
                ..pct(50)
            }],
            0,
            &[(20, "available 100 (WH1 100) × 50% = 50, max 20 → 20")],
        );
        check(
            &one(8),
            &[ChannelRule {
                zero_threshold: 4,
                ..pct(50)
            }],
            0,
            &[(0, "available 8 (WH1 8) × 50% = 4, ≤ zero threshold 4 → 0")],
        );
        // Huge stock does not overflow.
        check(
            &one(i64::MAX),
            &[pct(50)],
            0,
            &[(
                i64::MAX / 2,
                &format!(
                    "available {} (WH1 {}) × 50% = {}.50 → {} (rounded down)",
                    i64::MAX,
                    i64::MAX,
                    i64::MAX / 2,
                    i64::MAX / 2
                ),
            )],
        );
    }

    #[test]
    fn available_to_promise_opt_ins() {
        let levels = [
            StockLevel {
                incoming: 4,
                ..level("WH1", 9)
            },
            StockLevel {
                incoming: 1,
                ..level("WH2", 3)
            },
        ];
        let atp = ChannelRule {
            include_incoming: true,
            include_supplier: true,
            max: Some(30),
            ..shared(1)
        };
        check(
            &levels,
            &[atp.clone(), shared(2)],
            20,
            &[
                (
                    30,
                    "available 12 (WH1 9 + WH2 3) + incoming 5 + supplier 20 = 37, max 30 → 30",
                ),
                (12, "available 12 (WH1 9 + WH2 3)"),
            ],
        );
        check(
            &levels,
            &[ChannelRule {
                include_supplier: true,
                ..shared(1)
            }],
            -20,
            &[(0, "available 12 (WH1 9 + WH2 3) − supplier 20 = −8, below 0 → 0")],
        );
        // Partitioned channels split the promise when they all opt in.
        let a = ChannelRule {
            include_incoming: true,
            ..weighted(1, 1)
        };
        let b = ChannelRule {
            include_incoming: true,
            ..weighted(2, 1)
        };
        check(
            &levels,
            &[a, b],
            0,
            &[
                (
                    9,
                    "available 12 (WH1 9 + WH2 3) + incoming 5 = 17 × weight 1/2 = 8.50 → 9 (largest remainder)",
                ),
                (
                    8,
                    "available 12 (WH1 9 + WH2 3) + incoming 5 = 17 × weight 1/2 = 8.50 → 8 (rounded down)",
                ),
            ],
        );
    }

    #[test]
    fn partitioned_explanations() {
        let ten = [level("WH1", 10)];
        check(
            &ten,
            &[weighted(1, 1), weighted(2, 2)],
            0,
            &[
                (3, "available 10 (WH1 10) × weight 1/3 = 3.33 → 3 (rounded down)"),
                (7, "available 10 (WH1 10) × weight 2/3 = 6.66 → 7 (largest remainder)"),
            ],
        );
        check(
            &[level("WH1", 9), level("WH2", 3)],
            &[
                weighted(1, 2),
                ChannelRule {
                    buffer: 1,
                    max: Some(3),
                    ..weighted(2, 1)
                },
            ],
            0,
            &[
                (8, "available 12 (WH1 9 + WH2 3) × weight 2/3 = 8"),
                (3, "available 12 (WH1 9 + WH2 3) × weight 1/3 = 4 − buffer 1 = 3"),
            ],
        );
        check(
            &ten,
            &[
                ChannelRule {
                    buffer: 1,
                    max: Some(2),
                    ..weighted(1, 1)
                },
                weighted(2, 1),
            ],
            0,
            &[
                (2, "available 10 (WH1 10) × weight 1/2 = 5 − buffer 1 = 4, max 2 → 2"),
                (5, "available 10 (WH1 10) × weight 1/2 = 5"),
            ],
        );
        check(
            &ten,
            &[
                ChannelRule {
                    zero_threshold: 5,
                    ..weighted(1, 1)
                },
                weighted(2, 1),
            ],
            0,
            &[
                (0, "available 10 (WH1 10) × weight 1/2 = 5, ≤ zero threshold 5 → 0"),
                (5, "available 10 (WH1 10) × weight 1/2 = 5"),
            ],
        );
        check(
            &ten,
            &[
                ChannelRule {
                    buffer: 9,
                    ..weighted(1, 1)
                },
                weighted(2, 1),
            ],
            0,
            &[
                (0, "available 10 (WH1 10) × weight 1/2 = 5 − buffer 9 = −4, below 0 → 0"),
                (5, "available 10 (WH1 10) × weight 1/2 = 5"),
            ],
        );
        check(
            &ten,
            &[weighted(1, 0), weighted(2, 3)],
            0,
            &[
                (0, "available 10 (WH1 10) × weight 0/3 = 0"),
                (10, "available 10 (WH1 10) × weight 3/3 = 10"),
            ],
        );
        check(
            &ten,
            &[weighted(1, 0), weighted(2, 0)],
            0,
            &[
                (0, "available 10 (WH1 10) × weight 0 (all weights 0) = 0"),
                (0, "available 10 (WH1 10) × weight 0 (all weights 0) = 0"),
            ],
        );
        // Shared and partitioned channels side by side: shared ones see the whole stock.
        check(
            &ten,
            &[weighted(1, 1), ChannelRule { buffer: 2, ..shared(2) }, weighted(3, 1)],
            0,
            &[
                (5, "available 10 (WH1 10) × weight 1/2 = 5"),
                (8, "available 10 (WH1 10) − buffer 2 = 8"),
                (5, "available 10 (WH1 10) × weight 1/2 = 5"),
            ],
        );
    }

    #[test]
    fn partitioned_channels_split_the_union_and_keep_to_their_own_locations() {
        let levels = [level("WH1", 10), level("WH2", 2), level("WH3", 50)];
        let a = ChannelRule {
            eligible_locations: only(&["WH1"]),
            ..weighted(1, 1)
        };
        let b = ChannelRule {
            eligible_locations: only(&["WH2"]),
            ..weighted(2, 1)
        };
        check(
            &levels,
            &[a.clone(), b.clone()],
            0,
            &[
                (6, "available 12 (WH1 10 + WH2 2) × weight 1/2 = 6"),
                (2, "available 12 (WH1 10 + WH2 2) × weight 1/2 = 6, own locations 2 → 2"),
            ],
        );
        // One partitioned channel with no list means the pool is every active location.
        check(
            &levels,
            &[a, weighted(2, 1)],
            0,
            &[
                (
                    10,
                    "available 62 (WH1 10 + WH2 2 + WH3 50) × weight 1/2 = 31, own locations 10 → 10",
                ),
                (31, "available 62 (WH1 10 + WH2 2 + WH3 50) × weight 1/2 = 31"),
            ],
        );
    }

    #[test]
    fn partitioned_rounding_and_ties() {
        let stock = |n| [level("WH1", n)];
        let at = |id, weight, priority| ChannelRule {
            priority,
            ..weighted(id, weight)
        };

        // Exact splits need no rounding.
        check_quantities(
            &stock(12),
            &[weighted(1, 1), weighted(2, 2), weighted(3, 3)],
            &[2, 4, 6],
        );
        // The largest remainder wins the leftover unit, whatever the priorities.
        check_quantities(&stock(10), &[at(1, 1, 0), at(2, 2, 9)], &[3, 7]);
        check_quantities(&stock(11), &[at(1, 3, 0), at(2, 3, 0), at(3, 4, 0)], &[3, 3, 5]);
        // Equal remainders: the lower priority number wins…
        check_quantities(&stock(10), &[at(1, 1, 0), at(2, 1, 0), at(3, 1, 0)], &[4, 3, 3]);
        check_quantities(&stock(10), &[at(1, 1, 2), at(2, 1, 1), at(3, 1, 3)], &[3, 4, 3]);
        check_quantities(&stock(11), &[at(1, 1, 2), at(2, 1, 1), at(3, 1, 3)], &[4, 4, 3]);
        check_quantities(&stock(1), &[at(1, 1, 5), at(2, 1, -5)], &[0, 1]);
        // …then the lower channel id, whatever the input order.
        check_quantities(&stock(10), &[at(9, 1, 0), at(5, 1, 0), at(7, 1, 0)], &[3, 4, 3]);
        check_quantities(&stock(2), &[at(9, 1, 0), at(5, 1, 0), at(7, 1, 0)], &[0, 1, 1]);
        // Weight 0 never receives a leftover unit.
        check_quantities(&stock(1), &[at(1, 0, -9), at(2, 1, 0), at(3, 1, 0)], &[0, 1, 0]);
        // Nothing to split.
        check_quantities(&stock(0), &[weighted(1, 1), weighted(2, 1)], &[0, 0]);
        check_quantities(&stock(-5), &[weighted(1, 1), weighted(2, 1)], &[0, 0]);
        // More channels than fit on the stack: same rules.
        let many: Vec<ChannelRule> = (1..=10).map(|id| weighted(id, 1)).collect();
        check_quantities(&stock(25), &many, &[3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
        // Extreme weights and stock do not overflow and still sum exactly.
        check_quantities(
            &stock(i64::MAX),
            &[weighted(1, u32::MAX), weighted(2, u32::MAX), weighted(3, 1)],
            &[4_611_686_017_890_516_992, 4_611_686_017_890_516_991, 1_073_741_824],
        );
    }

    fn check_rejected(rules: &[ChannelRule], field: &str) {
        match allocate(&[level("WH1", 5)], rules, 0) {
            Err(Error::Validation { field: got, message }) => assert_eq!(got, field, "{message}"),
            other => panic!("{rules:?}: expected a validation error on {field}, got {other:?}"),
        }
    }

    #[test]
    fn invalid_rules_are_rejected_naming_the_field() {
        check_rejected(
            &[ChannelRule {
                buffer: -1,
                ..shared(1)
            }],
            "buffer",
        );
        check_rejected(
            &[ChannelRule {
                max: Some(-1),
                ..shared(1)
            }],
            "max",
        );
        check_rejected(
            &[ChannelRule {
                zero_threshold: -1,
                ..shared(1)
            }],
            "zero_threshold",
        );
        check_rejected(
            &[ChannelRule {
                percent: Some(101),
                ..shared(1)
            }],
            "percent",
        );
        check_rejected(
            &[ChannelRule {
                percent: Some(50),
                ..weighted(1, 1)
            }],
            "percent",
        );
        check_rejected(
            &[ChannelRule {
                percent: Some(50),
                buffer: 2,
                ..shared(1)
            }],
            "buffer",
        );
        check_rejected(&[shared(1), weighted(1, 1)], "channel_id");
        check_rejected(
            &[
                weighted(1, 1),
                ChannelRule {
                    include_incoming: true,
                    ..weighted(2, 1)
                },
            ],
            "include_incoming",
        );
        check_rejected(
            &[
                weighted(1, 1),
                ChannelRule {
                    include_supplier: true,
                    ..weighted(2, 1)
                },
            ],
            "include_supplier",
        );
        // A bad rule anywhere rejects the whole call, even after valid ones.
        check_rejected(
            &[
                shared(1),
                shared(2),
                ChannelRule {
                    buffer: -3,
                    ..shared(3)
                },
            ],
            "buffer",
        );
        // Shared channels may opt in differently from partitioned ones.
        assert!(allocate(
            &[],
            &[
                weighted(1, 1),
                ChannelRule {
                    include_incoming: true,
                    ..shared(2)
                }
            ],
            0
        )
        .is_ok());
        // The message names the channel.
        match allocate(
            &[],
            &[ChannelRule {
                buffer: -1,
                ..ChannelRule::new(7, "eBay")
            }],
            0,
        ) {
            Err(e) => assert_eq!(e.to_string(), "buffer: channel 7 (eBay): must not be negative, got −1"),
            Ok(got) => panic!("accepted {got:?}"),
        }
    }

    /// A layout's quick way (small figures, subsets of up to four levels) and its general way
    /// (saturating, any number of levels) give `allocate`'s quantities on both sides of the
    /// figures' small range, with four and with six levels.
    #[test]
    fn layout_ways_agree_at_the_edge_of_small_figures() {
        let rules = [
            ChannelRule {
                buffer: 3,
                max: Some(SMALL),
                include_incoming: true,
                include_supplier: true,
                ..shared(1)
            },
            ChannelRule {
                percent: Some(37),
                zero_threshold: 2,
                eligible_locations: only(&["L1", "L3"]),
                ..shared(2)
            },
            ChannelRule {
                priority: 1,
                include_incoming: true,
                ..weighted(3, 5)
            },
            ChannelRule {
                eligible_locations: only(&["L0", "L4"]),
                include_incoming: true,
                ..weighted(4, 2)
            },
        ];
        let set = RuleSet::new(&rules).unwrap_or_else(|e| panic!("{e}"));
        let edges = [0, 1, -1, SMALL - 1, SMALL, -SMALL, -SMALL - 1, i64::MAX, i64::MIN];
        let mut buffer = Vec::new();
        for count in [4, 6] {
            for (i, &edge) in edges.iter().enumerate() {
                for at in 0..=count {
                    // `edge` as on hand, incoming or (at == count) the supplier's figure.
                    let mut levels: Vec<StockLevel> = (0..count)
                        .map(|j| StockLevel {
                            reserved: j as i64,
                            incoming: 4,
                            ..level(&format!("L{j}"), 10 + j as i64)
                        })
                        .collect();
                    let supplier = if at == count { edge } else { 7 };
                    if let Some(level) = levels.get_mut(at) {
                        if i % 2 == 0 {
                            level.on_hand = edge;
                        } else {
                            level.incoming = edge.max(0);
                        }
                    }
                    let expected: Vec<i64> = allocate(&levels, &rules, supplier)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .iter()
                        .map(|a| a.quantity)
                        .collect();
                    set.quantities_in(&set.layout(&levels), &levels, supplier, &mut buffer)
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(buffer, expected, "levels {levels:?}, supplier {supplier}");
                }
            }
        }
    }

    #[test]
    fn invalid_levels_are_rejected() {
        match allocate(&[level("WH1", 1), level("WH1", 2)], &[shared(1)], 0) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "location"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// Random stock for up to five locations `L0`…`L4` and random valid rules, where the
    /// partitioned channels agree on their opt-ins.
    fn scenario() -> impl Strategy<Value = (Vec<StockLevel>, Vec<ChannelRule>, i64)> {
        let level = proptest::option::of((-100i64..300, 0i64..100, 0i64..50, any::<bool>(), -2i64..3));
        let rule = (
            any::<bool>(),
            0u32..12,
            -3i64..3,
            0i64..20,
            proptest::option::of(0i64..80),
            0i64..10,
            proptest::option::of(0u32..=100),
            any::<bool>(),
            any::<bool>(),
            0u8..32,
        );
        (
            proptest::collection::vec(level, 5),
            proptest::collection::vec(rule, 0..7),
            any::<bool>(),
            any::<bool>(),
            -50i64..100,
        )
            .prop_map(|(raw_levels, raw_rules, pooled_incoming, pooled_supplier, supplier)| {
                let levels = raw_levels
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, raw)| {
                        raw.map(|(on_hand, reserved, incoming, active, priority)| StockLevel {
                            location: format!("L{i}"),
                            on_hand,
                            reserved,
                            incoming,
                            active,
                            priority,
                        })
                    })
                    .collect();
                let rules = raw_rules
                    .into_iter()
                    .zip(0i64..)
                    .map(
                        |(
                            (
                                partitioned,
                                weight,
                                priority,
                                buffer,
                                max,
                                zero_threshold,
                                percent,
                                incoming,
                                supplier,
                                mask,
                            ),
                            id,
                        )| {
                            let eligible = (0..5)
                                .filter(|i| mask & (1 << i) != 0)
                                .map(|i| format!("L{i}"))
                                .collect();
                            let base = ChannelRule {
                                priority,
                                buffer,
                                max,
                                zero_threshold,
                                eligible_locations: eligible,
                                ..ChannelRule::new(id, format!("ch{id}"))
                            };
                            if partitioned {
                                ChannelRule {
                                    mode: AllocationMode::Partitioned { weight },
                                    include_incoming: pooled_incoming,
                                    include_supplier: pooled_supplier,
                                    ..base
                                }
                            } else {
                                let buffer = if percent.is_some() { 0 } else { buffer };
                                ChannelRule {
                                    percent,
                                    buffer,
                                    include_incoming: incoming,
                                    include_supplier: supplier,
                                    ..base
                                }
                            }
                        },
                    )
                    .collect();
                (levels, rules, supplier)
            })
    }

    proptest! {
        #[test]
        fn allocation_invariants((levels, rules, supplier) in scenario()) {
            let allocations = allocate(&levels, &rules, supplier)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(allocations.len(), rules.len());

            let mut pool = None;
            let mut shares = 0i64;
            let mut after = 0i64;
            let mut total_weight = 0u64;
            for (rule, allocation) in rules.iter().zip(&allocations) {
                prop_assert_eq!(allocation.channel_id, rule.channel_id);
                prop_assert!(allocation.quantity >= 0, "{:?}", allocation);
                prop_assert!(!allocation.explanation.is_empty());
                match (rule.mode, allocation.share) {
                    (AllocationMode::Shared, None) => {
                        let own = crate::stock::available(&levels, &rule.eligible_locations)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        prop_assert!(allocation.quantity <= allocation.base, "{:?}", allocation);
                        if !rule.include_incoming && !rule.include_supplier {
                            prop_assert!(allocation.quantity <= own.total, "{:?}", allocation);
                        }
                    }
                    (AllocationMode::Partitioned { weight }, Some(share)) => {
                        prop_assert_eq!(share.weight, weight);
                        prop_assert!(*pool.get_or_insert(share.pool) == share.pool);
                        prop_assert!(share.quantity >= 0 && share.quantity <= share.pool);
                        prop_assert!(allocation.quantity <= share.quantity, "{:?}", allocation);
                        shares += share.quantity;
                        after += allocation.quantity;
                        total_weight = share.total_weight;
                    }
                    (mode, share) => prop_assert!(false, "mode {:?} with share {:?}", mode, share),
                }
            }
            if let Some(pool) = pool {
                if total_weight > 0 {
                    prop_assert_eq!(shares, pool, "shares must sum to exactly the pool");
                } else {
                    prop_assert_eq!(shares, 0);
                }
                prop_assert!(after <= pool);
            }
        }

        #[test]
        fn split_sums_exactly_and_stays_within_one_unit_of_the_quota(
            pool in 0i64..=i64::MAX,
            raw in proptest::collection::vec((any::<u32>(), -3i64..3), 1..20),
        ) {
            let claims: Vec<Claim> = raw.iter().zip(0i64..).map(|(&(weight, priority), channel_id)| Claim { weight, priority, channel_id }).collect();
            let mut parts = vec![SplitPart::default(); claims.len()];
            split(pool, &claims, &mut parts);
            let total: u128 = claims.iter().map(|c| u128::from(c.weight)).sum();
            let sum: u128 = parts.iter().map(|p| u128::from(p.quantity.unsigned_abs())).sum();
            let expected_sum = if total == 0 { 0 } else { u128::from(pool.unsigned_abs()) };
            prop_assert_eq!(sum, expected_sum, "shares must sum to exactly the pool");
            for (claim, part) in claims.iter().zip(&parts) {
                let got = u128::from(part.quantity.unsigned_abs());
                // All weights 0: no quota, every share is 0.
                let floor = (u128::from(pool.unsigned_abs()) * u128::from(claim.weight))
                    .checked_div(total)
                    .unwrap_or(0);
                prop_assert!(got == floor || got == floor + 1, "got {} for quota floor {}", got, floor);
                if claim.weight == 0 {
                    prop_assert_eq!(got, 0);
                }
            }
        }

        /// The quick split (from the rows of small pools when the total weight is small, else by
        /// division) gives every claim exactly the general split's share, whenever it answers.
        #[test]
        fn the_quick_split_is_the_general_split(
            pool in prop_oneof![0i64..2_000, 0i64..1 << 40],
            raw in proptest::collection::vec((prop_oneof![Just(0u32), 0u32..40, 0u32..400], -2i64..3), 1..=INLINE_CLAIMS),
            // Channel ids in any order, so that ties by id differ from ties by rule order.
            ids in Just((1i64..=8).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let rules: Vec<ChannelRule> = raw
                .iter()
                .zip(ids)
                .map(|(&(weight, priority), id)| ChannelRule { priority, ..weighted(id, weight) })
                .collect();
            let set = RuleSet::new(&rules).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let total: u64 = raw.iter().map(|&(weight, _)| u64::from(weight)).sum();
            prop_assert_eq!(set.split_rows.is_empty(), total == 0 || total > SPLIT_ROWS_MAX_WEIGHT);
            let mut quick = vec![0i64; rules.len()];
            if !set.quick_split(pool, &mut quick) {
                // Only the division in 64 bits declines, for pools of 2^32 units and more.
                prop_assert!(set.split_rows.is_empty() && pool > i64::from(u32::MAX));
                return Ok(());
            }
            let mut parts = vec![SplitPart::default(); rules.len()];
            split(pool, &set.claims, &mut parts);
            let general: Vec<i64> = parts.iter().map(|part| part.quantity).collect();
            prop_assert_eq!(quick, general);
        }

        #[test]
        fn allocation_never_panics_on_extreme_numbers(
            on_hand in any::<i64>(),
            reserved in 0i64..=i64::MAX,
            incoming in 0i64..=i64::MAX,
            supplier in any::<i64>(),
            buffer in 0i64..=i64::MAX,
            max in proptest::option::of(0i64..=i64::MAX),
            zero_threshold in 0i64..=i64::MAX,
            weight in any::<u32>(),
        ) {
            let levels = [StockLevel { reserved, incoming, ..level("WH1", on_hand) }, level("WH2", i64::MAX)];
            let rules = [
                ChannelRule { buffer, max, zero_threshold, include_incoming: true, include_supplier: true, ..shared(1) },
                ChannelRule { percent: Some(100), include_supplier: true, ..shared(2) },
                ChannelRule { buffer, max, zero_threshold, ..weighted(3, weight) },
                weighted(4, u32::MAX),
            ];
            let allocations = allocate(&levels, &rules, supplier).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(allocations.iter().all(|a| a.quantity >= 0));
            let quantities = allocate_quantities(&levels, &rules, supplier).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(quantities, allocations.iter().map(|a| a.quantity).collect::<Vec<_>>());
        }

        #[test]
        fn quantities_are_exactly_those_of_allocate((levels, rules, supplier) in scenario()) {
            let allocations = allocate(&levels, &rules, supplier).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected: Vec<i64> = allocations.iter().map(|a| a.quantity).collect();
            let quantities = allocate_quantities(&levels, &rules, supplier).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&quantities, &expected);

            // Through a rule set and a buffer that already holds another SKU's numbers.
            let set = RuleSet::new(&rules).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut buffer = vec![-1; 9];
            set.quantities(&levels, supplier, &mut buffer).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buffer, &expected);
            prop_assert_eq!(set.allocate(&levels, supplier).map_err(|e| TestCaseError::fail(e.to_string()))?, allocations);

            // Through a layout of the same locations.
            let layout = set.layout(&levels);
            set.quantities_in(&layout, &levels, supplier, &mut buffer).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buffer, &expected);
        }

        #[test]
        fn a_layout_serves_every_sku_at_the_same_locations(
            (levels, rules, _supplier) in scenario(),
            others in proptest::collection::vec(
                (proptest::collection::vec((-100i64..1_000, 0i64..100, 0i64..50), 5), -50i64..100),
                1..8,
            ),
            big in any::<bool>(),
        ) {
            let set = RuleSet::new(&rules).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let layout = set.layout(&levels);
            let mut buffer = Vec::new();
            for (numbers, other_supplier) in others {
                // The same codes, order and active flags; other numbers (some beyond 32 bits, so
                // that the split takes its general way too).
                let scale = if big { 1 << 40 } else { 1 };
                let sku: Vec<StockLevel> = levels
                    .iter()
                    .zip(numbers)
                    .map(|(level, (on_hand, reserved, incoming))| StockLevel {
                        on_hand: on_hand * scale,
                        reserved,
                        incoming,
                        ..level.clone()
                    })
                    .collect();
                let expected: Vec<i64> = allocate(&sku, &rules, other_supplier)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .iter()
                    .map(|a| a.quantity)
                    .collect();
                set.quantities_in(&layout, &sku, other_supplier, &mut buffer)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&buffer, &expected, "levels {:?}", sku);
            }
        }

        #[test]
        fn quantities_fail_exactly_when_allocate_fails(
            (mut levels, mut rules, supplier) in scenario(),
            corruption in 0u8..5,
        ) {
            match corruption {
                1 => if let Some(level) = levels.first_mut() { level.reserved = -1 },
                2 => if let Some(level) = levels.first().cloned() { levels.push(level) },
                3 => if let Some(rule) = rules.last_mut() { rule.buffer = -1; rule.percent = None },
                4 => if let Some(rule) = rules.first().cloned() { rules.push(rule) },
                _ => {}
            }
            let expected = allocate(&levels, &rules, supplier)
                .map(|allocations| allocations.iter().map(|a| a.quantity).collect::<Vec<_>>())
                .map_err(|e| e.to_string());
            prop_assert_eq!(allocate_quantities(&levels, &rules, supplier).map_err(|e| e.to_string()), expected.clone());
            if let Ok(set) = RuleSet::new(&rules) {
                let mut buffer = Vec::new();
                let got = set.quantities_in(&set.layout(&levels), &levels, supplier, &mut buffer);
                prop_assert_eq!(got.map(|()| buffer).map_err(|e| e.to_string()), expected);
            }
        }
    }
}
