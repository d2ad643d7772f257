//! Ballots and the compact ballot [`Profile`].

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ballot::NO_OPINION;

/// Largest number of candidates a [`Profile`] accepts.
pub const MAX_CANDIDATES: usize = 65_534;

/// Stored rank meaning "not ranked" inside a [`Profile`].
pub(crate) const UNRANKED: u16 = u16::MAX;

/// How a candidate that a ballot leaves unranked takes part in pairwise comparisons
/// and transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unranked {
    /// Elekto's rule (the default): an unranked candidate takes part in **no** comparison on
    /// that ballot, and a ballot never transfers to it.
    #[default]
    NoOpinion,
    /// Debian's rule: unranked candidates are ranked below every ranked candidate and tied with
    /// each other (so they form one last tier of the ballot).
    Last,
}

impl Unranked {
    /// `no-opinion` or `last`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unranked::NoOpinion => "no-opinion",
            Unranked::Last => "last",
        }
    }
}

impl fmt::Display for Unranked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Unranked {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "no-opinion" => Ok(Unranked::NoOpinion),
            "last" => Ok(Unranked::Last),
            other => Err(format!(
                "unknown unranked rule `{other}` (expected `no-opinion` or `last`)"
            )),
        }
    }
}

/// Errors building a ballot or a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A candidate ID appears twice.
    #[error("duplicate candidate ID `{0}`")]
    DuplicateCandidate(String),
    /// A candidate ID is empty.
    #[error("empty candidate ID")]
    EmptyCandidate,
    /// More than [`MAX_CANDIDATES`] candidates.
    #[error("too many candidates ({0}; at most {MAX_CANDIDATES})")]
    TooManyCandidates(usize),
    /// A ballot's length differs from the number of candidates.
    #[error("ballot has {got} entries but there are {expected} candidates")]
    WrongLength {
        /// Number of candidates.
        expected: usize,
        /// Entries in the ballot.
        got: usize,
    },
    /// A tier refers to a candidate index that does not exist.
    #[error("candidate index {0} is out of range")]
    BadIndex(usize),
    /// A candidate appears twice on one ballot.
    #[error("candidate index {0} is ranked twice on one ballot")]
    RankedTwice(usize),
}

/// One voter's ballot: for every candidate index, `Some(rank)` (1 = best, equal ranks = tie,
/// gaps allowed) or `None` (unranked / "No opinion").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ballot {
    ranks: Vec<Option<u32>>,
}

impl Ballot {
    /// A ballot from one optional rank per candidate (in the profile's candidate order).
    pub fn new(ranks: Vec<Option<u32>>) -> Self {
        Self { ranks }
    }

    /// A ballot that ranks nobody.
    pub fn unranked(num_candidates: usize) -> Self {
        Self {
            ranks: vec![None; num_candidates],
        }
    }

    /// A ballot from Elekto's stored ranks: [`NO_OPINION`] (100000000) means unranked.
    pub fn from_elekto_ranks(ranks: &[u32]) -> Self {
        Self {
            ranks: ranks
                .iter()
                .map(|&r| (i64::from(r) != i64::from(NO_OPINION)).then_some(r))
                .collect(),
        }
    }

    /// A ballot from tiers of candidate indices, best first: tier `i` gets rank `i + 1`;
    /// candidates in no tier are unranked.
    pub fn from_tiers(num_candidates: usize, tiers: &[Vec<usize>]) -> Result<Self, ProfileError> {
        let mut ranks = vec![None; num_candidates];
        for (i, tier) in tiers.iter().enumerate() {
            for &c in tier {
                let slot = ranks.get_mut(c).ok_or(ProfileError::BadIndex(c))?;
                if slot.is_some() {
                    return Err(ProfileError::RankedTwice(c));
                }
                *slot = Some(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
        }
        Ok(Self { ranks })
    }

    /// The rank of every candidate (`None` = unranked).
    pub fn ranks(&self) -> &[Option<u32>] {
        &self.ranks
    }

    /// Number of entries (= number of candidates).
    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    /// True for a ballot over zero candidates.
    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }
}

/// The candidates and every ballot of an election, stored compactly.
///
/// Ballots are kept as one flat `Vec<u16>` (one entry per candidate per ballot line, with a
/// sentinel for "unranked") plus a weight per line, so a million 20-candidate ballots take
/// about 44 MB. Ranks are order-preserving: a ballot whose ranks do not all fit below 65535
/// is renumbered densely (1, 2, …) when stored, which changes no count (only the order of
/// ranks within a ballot matters). [`Profile::aggregate`] merges identical ballots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    candidates: Vec<String>,
    ranks: Vec<u16>,
    weights: Vec<u32>,
    total: u64,
}

impl Profile {
    /// An empty profile over these candidate IDs (unique, non-empty, at most
    /// [`MAX_CANDIDATES`]).
    pub fn new(candidates: Vec<String>) -> Result<Self, ProfileError> {
        if candidates.len() > MAX_CANDIDATES {
            return Err(ProfileError::TooManyCandidates(candidates.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &candidates {
            if c.is_empty() {
                return Err(ProfileError::EmptyCandidate);
            }
            if !seen.insert(c.as_str()) {
                return Err(ProfileError::DuplicateCandidate(c.clone()));
            }
        }
        Ok(Self {
            candidates,
            ranks: Vec::new(),
            weights: Vec::new(),
            total: 0,
        })
    }

    /// A profile with these candidates and ballots (each ballot counts once).
    pub fn with_ballots(
        candidates: Vec<String>,
        ballots: impl IntoIterator<Item = Ballot>,
    ) -> Result<Self, ProfileError> {
        let mut p = Self::new(candidates)?;
        for b in ballots {
            p.push(&b)?;
        }
        Ok(p)
    }

    /// Adds one ballot.
    pub fn push(&mut self, ballot: &Ballot) -> Result<(), ProfileError> {
        self.push_ranks(ballot.ranks(), 1)
    }

    /// Adds `weight` identical ballots.
    pub fn push_weighted(&mut self, ballot: &Ballot, weight: u32) -> Result<(), ProfileError> {
        self.push_ranks(ballot.ranks(), weight)
    }

    /// Adds `weight` identical ballots given as one optional rank per candidate. A weight of 0
    /// adds nothing.
    pub fn push_ranks(&mut self, ranks: &[Option<u32>], weight: u32) -> Result<(), ProfileError> {
        let m = self.candidates.len();
        if ranks.len() != m {
            return Err(ProfileError::WrongLength {
                expected: m,
                got: ranks.len(),
            });
        }
        if weight == 0 {
            return Ok(());
        }
        let fits = ranks.iter().flatten().all(|&r| r < u32::from(UNRANKED));
        if fits {
            self.ranks.extend(ranks.iter().map(|r| match r {
                // `fits` guarantees the conversion.
                Some(r) => *r as u16,
                None => UNRANKED,
            }));
        } else {
            // Dense, order-preserving renumbering: 1 + number of distinct smaller ranks.
            let mut distinct: Vec<u32> = ranks.iter().flatten().copied().collect();
            distinct.sort_unstable();
            distinct.dedup();
            self.ranks.extend(ranks.iter().map(|r| match r {
                Some(r) => (distinct.partition_point(|x| x < r) + 1) as u16,
                None => UNRANKED,
            }));
        }
        self.weights.push(weight);
        self.total += u64::from(weight);
        Ok(())
    }

    /// Adds one ballot given as its stored ranks (one per candidate: `UNRANKED`, or a rank
    /// below it).
    pub(crate) fn push_stored(&mut self, row: &[u16]) {
        debug_assert_eq!(row.len(), self.candidates.len());
        self.ranks.extend_from_slice(row);
        self.weights.push(1);
        self.total += 1;
    }

    /// Adds ballots given as their stored ranks, one after the other (`rows.len()` a multiple
    /// of the number of candidates), each of weight 1.
    pub(crate) fn append_stored(&mut self, rows: Vec<u16>) {
        let m = self.candidates.len().max(1);
        let lines = rows.len() / m;
        if self.ranks.is_empty() {
            self.ranks = rows;
        } else {
            self.ranks.extend_from_slice(&rows);
        }
        self.weights.resize(self.weights.len() + lines, 1);
        self.total += lines as u64;
    }

    /// The candidate IDs, in input order.
    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }

    /// Number of candidates.
    pub fn num_candidates(&self) -> usize {
        self.candidates.len()
    }

    /// Index of a candidate ID.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.candidates.iter().position(|c| c == id)
    }

    /// Number of ballots (the sum of all weights).
    pub fn num_ballots(&self) -> u64 {
        self.total
    }

    /// Number of stored ballot lines (each with a weight).
    pub fn num_lines(&self) -> usize {
        self.weights.len()
    }

    /// Stored line `i` as a [`Ballot`] and its weight (ranks as stored; see the type docs).
    pub fn line(&self, i: usize) -> (Ballot, u32) {
        let m = self.candidates.len();
        let ranks = self.ranks[i * m..(i + 1) * m]
            .iter()
            .map(|&r| (r != UNRANKED).then_some(u32::from(r)))
            .collect();
        (Ballot { ranks }, self.weights[i])
    }

    /// Every stored line as (ranks, weight); `UNRANKED` marks an unranked candidate.
    pub(crate) fn raw_lines(&self) -> impl Iterator<Item = (&[u16], u32)> + '_ {
        let m = self.candidates.len().max(1);
        self.ranks.chunks_exact(m).zip(self.weights.iter().copied())
    }

    /// Stored lines `lines` (a range of line indices) as (ranks, weight).
    pub(crate) fn lines_in(
        &self,
        lines: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (&[u16], u32)> + '_ {
        let m = self.candidates.len().max(1);
        let ranks = if self.candidates.is_empty() {
            &[][..]
        } else {
            &self.ranks[lines.start * m..lines.end * m]
        };
        ranks
            .chunks_exact(m)
            .zip(self.weights[lines].iter().copied())
    }

    /// A profile where identical ballots are merged into one weighted line (first-appearance
    /// order). Counts are unchanged. Weights that would exceed `u32::MAX` start a new line.
    pub fn aggregate(&self) -> Profile {
        let m = self.candidates.len();
        let mut out = Profile {
            candidates: self.candidates.clone(),
            ranks: Vec::new(),
            weights: Vec::new(),
            total: self.total,
        };
        if m == 0 {
            // Zero-candidate ballots carry no information; keep the weights as one line each.
            out.weights = self.weights.clone();
            return out;
        }
        let mut index: HashMap<&[u16], usize> = HashMap::new();
        for (ranks, w) in self.raw_lines() {
            match index.get(ranks) {
                Some(&i) if u64::from(out.weights[i]) + u64::from(w) <= u64::from(u32::MAX) => {
                    out.weights[i] += w;
                }
                _ => {
                    index.insert(ranks, out.weights.len());
                    out.ranks.extend_from_slice(ranks);
                    out.weights.push(w);
                }
            }
        }
        out
    }

    /// The same ballots without the candidates at `remove` (indices); other candidates keep
    /// their relative order and ranks.
    pub fn without_candidates(&self, remove: &[usize]) -> Profile {
        let keep: Vec<usize> = (0..self.candidates.len())
            .filter(|i| !remove.contains(i))
            .collect();
        let mut out = Profile {
            candidates: keep.iter().map(|&i| self.candidates[i].clone()).collect(),
            ranks: Vec::with_capacity(self.weights.len() * keep.len()),
            weights: self.weights.clone(),
            total: self.total,
        };
        for (ranks, _) in self.raw_lines() {
            out.ranks.extend(keep.iter().map(|&i| ranks[i]));
        }
        out
    }
}

/// Builds a [`Profile`] that merges identical ballots as they are added, exactly as
/// [`Profile::aggregate`] would merge them afterwards (first-appearance order; a weight that
/// would pass `u32::MAX` starts a new line). Readers of weighted formats use it so that a file
/// of a million ballots with few distinct rankings takes little memory; the candidate IDs may
/// come last (as in BLT files).
pub(crate) struct GroupingProfile {
    /// Number of candidates.
    width: usize,
    ranks: Vec<u16>,
    weights: Vec<u32>,
    total: u64,
    /// Every distinct row: open addressing with linear probing, one `u64` per slot (the top 32
    /// bits of the row's hash, then 1 + its line index; 0 = free), so a probe is one cache line
    /// and growing reads no row.
    slots: Vec<u64>,
    /// Rows in `slots`.
    distinct: usize,
    /// The lines before this one are in `slots` (the later ones were added by
    /// [`GroupingProfile::merge`] and are indexed when a row is next pushed).
    indexed: usize,
    hasher: foldhash::fast::FixedState,
}

/// Rows whose slots are looked up together (their cache misses overlap).
pub(crate) const BATCH: usize = 16;

/// No earlier line has that row (see [`GroupingProfile::merge`]).
const MISS: u64 = u64::MAX;

impl Default for GroupingProfile {
    fn default() -> Self {
        Self::new(0)
    }
}

impl GroupingProfile {
    /// An empty profile of ballots over `width` candidates.
    pub(crate) fn new(width: usize) -> Self {
        Self {
            width,
            ranks: Vec::new(),
            weights: Vec::new(),
            total: 0,
            slots: Vec::new(),
            distinct: 0,
            indexed: 0,
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// The hash of a row, as stored in its slot (32 bits).
    #[inline(always)]
    fn tag(&self, row: &[u16]) -> u64 {
        use std::hash::BuildHasher as _;
        self.hasher.hash_one(row) >> 32
    }

    /// The first slot to probe for a row of hash `tag`.
    #[inline(always)]
    fn home(&self, tag: u64) -> usize {
        // The table's size is a power of two; the tag's low bits pick the slot.
        (tag as usize) & (self.slots.len() - 1)
    }

    /// Doubles the table (at least 1024 slots), placing every row again by its stored tag.
    #[cold]
    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = self.home(s >> 32);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Adds `weight` ballots with these stored ranks (one per candidate, `UNRANKED` for
    /// unranked, every other rank below it).
    #[inline]
    pub(crate) fn push_row(&mut self, row: &[u16], weight: u32) {
        let tag = if self.width == 0 { 0 } else { self.tag(row) };
        self.push_tagged(row, weight, tag);
    }

    /// Adds rows (`weights.len()` of them, one after the other in `rows`) as [`push_row`]
    /// would one by one; the slots of a batch of rows are read before any is added, so that
    /// their cache misses overlap instead of coming one after the other.
    ///
    /// [`push_row`]: GroupingProfile::push_row
    pub(crate) fn push_rows(&mut self, rows: &[u16], weights: &[u32]) {
        let m = self.width;
        if m == 0 {
            for &w in weights {
                self.push_tagged(&[], w, 0);
            }
            return;
        }
        let mut tags = [0u64; BATCH];
        for (rows, weights) in rows.chunks(BATCH * m).zip(weights.chunks(BATCH)) {
            for (t, row) in tags.iter_mut().zip(rows.chunks_exact(m)) {
                *t = self.tag(row);
            }
            if self.indexed == self.weights.len()
                && self.weights.len() + BATCH < u32::MAX as usize - 1
            {
                // Room for the whole batch first, so that no slot moves while it is added.
                while 2 * (self.distinct + BATCH) > self.slots.len() {
                    self.grow();
                }
                for &t in &tags[..weights.len()] {
                    std::hint::black_box(self.slots[self.home(t)]);
                }
            }
            for ((row, &w), &t) in rows.chunks_exact(m).zip(weights).zip(&tags) {
                self.push_tagged(row, w, t);
            }
        }
    }

    /// [`GroupingProfile::push_row`] of a row whose tag is known.
    #[inline]
    fn push_tagged(&mut self, row: &[u16], weight: u32, tag: u64) {
        let m = self.width;
        debug_assert_eq!(row.len(), m);
        if weight == 0 {
            return;
        }
        if self.indexed != self.weights.len() {
            self.index_rest();
        }
        self.total += u64::from(weight);
        if m == 0 || self.weights.len() >= u32::MAX as usize - 1 {
            self.ranks.extend_from_slice(row);
            self.weights.push(weight);
            self.indexed = self.weights.len();
            return;
        }
        if 2 * (self.distinct + 1) > self.slots.len() {
            self.grow();
        }
        let new = self.weights.len();
        if let Some(line) = self.place(row, tag, new) {
            let w = &mut self.weights[line];
            if u64::from(*w) + u64::from(weight) <= u64::from(u32::MAX) {
                *w += weight;
                return;
            }
            // That line is full: this copy and later ones go to a new line.
            self.place_over(row, tag, new);
        }
        self.ranks.extend_from_slice(row);
        self.weights.push(weight);
        self.indexed = self.weights.len();
    }

    /// Finds the line holding `row` (Some) or, when none does, records line `new` for it in a
    /// free slot (None). The table has room for one more row.
    #[inline(always)]
    fn place(&mut self, row: &[u16], tag: u64, new: usize) -> Option<usize> {
        let m = self.width;
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        loop {
            let s = self.slots[i];
            if s == 0 {
                self.slots[i] = (tag << 32) | (new as u64 + 1);
                self.distinct += 1;
                return None;
            }
            let line = ((s & 0xffff_ffff) - 1) as usize;
            if s >> 32 == tag && &self.ranks[line * m..(line + 1) * m] == row {
                return Some(line);
            }
            i = (i + 1) & mask;
        }
    }

    /// Points the slot of `row` (which has one) to line `new`.
    fn place_over(&mut self, row: &[u16], tag: u64, new: usize) {
        let m = self.width;
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        loop {
            let s = self.slots[i];
            let line = ((s & 0xffff_ffff) - 1) as usize;
            if s >> 32 == tag && &self.ranks[line * m..(line + 1) * m] == row {
                self.slots[i] = (tag << 32) | (new as u64 + 1);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts the lines added by [`GroupingProfile::merge`] in the table (a later line of the
    /// same row takes its slot, as when it was added because the earlier one was full).
    #[cold]
    fn index_rest(&mut self) {
        let m = self.width;
        let lines = self.weights.len().min(u32::MAX as usize - 1);
        if m > 0 {
            let mut row = Vec::with_capacity(m);
            for line in self.indexed..lines {
                if 2 * (self.distinct + 1) > self.slots.len() {
                    self.grow();
                }
                row.clear();
                row.extend_from_slice(&self.ranks[line * m..(line + 1) * m]);
                let tag = self.tag(&row);
                if self.place(&row, tag, line).is_some() {
                    self.place_over(&row, tag, line);
                }
            }
        }
        self.indexed = self.weights.len();
    }

    /// For each row of `rows` (one after the other) whose entry in `hits` is still [`MISS`]:
    /// `(piece << 32) | line` when line `line` here holds it. Looks up a batch of rows' slots
    /// before reading any of them.
    fn find_rows(&self, rows: &[u16], piece: usize, hits: &mut [u64]) {
        let m = self.width;
        if m == 0 || self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let mut tags = [0u64; BATCH];
        for (rows, hits) in rows.chunks(BATCH * m).zip(hits.chunks_mut(BATCH)) {
            for ((t, row), &h) in tags.iter_mut().zip(rows.chunks_exact(m)).zip(&*hits) {
                if h == MISS {
                    *t = self.tag(row);
                    std::hint::black_box(self.slots[self.home(*t)]);
                }
            }
            for ((row, &tag), h) in rows.chunks_exact(m).zip(&tags).zip(hits) {
                if *h != MISS {
                    continue;
                }
                let mut i = self.home(tag);
                loop {
                    let s = self.slots[i];
                    if s == 0 {
                        break;
                    }
                    let line = (s & 0xffff_ffff) - 1;
                    let at = line as usize * m;
                    if s >> 32 == tag && &self.ranks[at..at + m] == row {
                        *h = ((piece as u64) << 32) | line;
                        break;
                    }
                    i = (i + 1) & mask;
                }
            }
        }
    }

    /// The profile of `pieces` added one after the other, as if their rows had been pushed in
    /// order, when no merged weight can pass `u32::MAX` (their total is at most that; so the
    /// lines of each piece are distinct rows). The lines of each piece are looked up in the
    /// earlier pieces in parallel (one run of lines per thread, `threads` of them); only the
    /// additions are done in order.
    pub(crate) fn merge(mut pieces: Vec<GroupingProfile>, threads: usize) -> GroupingProfile {
        debug_assert!(pieces.iter().map(|p| p.total).sum::<u64>() <= u64::from(u32::MAX));
        if pieces.is_empty() {
            return GroupingProfile::new(0);
        }
        let m = pieces[0].width;
        if m == 0 || pieces.len() == 1 {
            let mut out = pieces.remove(0);
            for p in pieces {
                out.append(p);
            }
            return out;
        }
        // For each line of piece j >= 1: the first earlier piece holding its row and the
        // line there, `(piece << 32) | line`, or MISS.
        let mut found: Vec<Vec<Vec<u64>>> = Vec::with_capacity(pieces.len());
        found.push(Vec::new());
        for j in 1..pieces.len() {
            let (earlier, later) = pieces.split_at(j);
            let piece = &later[0];
            let lines = piece.weights.len();
            let threads = threads.clamp(1, lines.max(1));
            let parts = super::parallel::per_run(lines, threads, |run| {
                let rows = &piece.ranks[run.start * m..run.end * m];
                let mut hits = vec![MISS; run.len()];
                for (i, p) in earlier.iter().enumerate() {
                    p.find_rows(rows, i, &mut hits);
                }
                hits
            });
            found.push(parts);
        }
        let mut rest = pieces.split_off(1);
        let mut out = pieces.remove(0);
        // Only the first piece's table is still needed (it indexes the merged profile's first
        // lines): free the others before the merged rows grow.
        for piece in &mut rest {
            piece.slots = Vec::new();
        }
        // Line of the merged profile of each line of each piece (piece 0: the same).
        let mut maps: Vec<Vec<u32>> = vec![Vec::new()];
        for (j, piece) in rest.iter_mut().enumerate() {
            let hits = std::mem::take(&mut found[j + 1]);
            let hits = hits.iter().flatten();
            let mut map = Vec::with_capacity(piece.weights.len());
            for (l, (&w, &hit)) in piece.weights.iter().zip(hits).enumerate() {
                let line = if hit == MISS {
                    out.ranks
                        .extend_from_slice(&piece.ranks[l * m..(l + 1) * m]);
                    out.weights.push(w);
                    out.weights.len() - 1
                } else {
                    let (i, at) = ((hit >> 32) as usize, (hit & 0xffff_ffff) as usize);
                    let line = if i == 0 { at } else { maps[i][at] as usize };
                    out.weights[line] += w;
                    line
                };
                map.push(line as u32);
            }
            out.total += piece.total;
            maps.push(map);
            // Free each piece as soon as it is merged.
            *piece = GroupingProfile::new(m);
        }
        out
    }

    /// Number of candidates of the rows.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Number of lines (distinct rows, or rows split because a weight would overflow).
    pub(crate) fn num_lines(&self) -> usize {
        self.weights.len()
    }

    /// Changes the number of candidates of every row already added: new candidates are
    /// unranked on them; dropped ones (the last columns) must be unranked on all of them. The
    /// lines are added again in order, so they merge as if they had been added at this width.
    pub(crate) fn set_width(&mut self, width: usize) {
        let old = std::mem::replace(self, GroupingProfile::new(width));
        let keep = old.width.min(width);
        let mut row = vec![UNRANKED; width];
        for (i, &w) in old.weights.iter().enumerate() {
            let from = &old.ranks[i * old.width..(i + 1) * old.width];
            debug_assert!(from[keep..].iter().all(|&r| r == UNRANKED));
            row[..keep].copy_from_slice(&from[..keep]);
            self.push_row(&row, w);
        }
    }

    /// Sum of the weights added.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Adds the lines of `other` (as wide) in order: as if its ballots had been added here,
    /// unless a merged weight would pass `u32::MAX`.
    pub(crate) fn append(&mut self, mut other: GroupingProfile) {
        // Its index is not needed: free it first.
        other.slots = Vec::new();
        let m = other.width;
        debug_assert_eq!(m, self.width);
        for (i, &w) in other.weights.iter().enumerate() {
            self.push_row(&other.ranks[i * m..(i + 1) * m], w);
        }
    }

    /// The profile over these candidates (as many as the width).
    pub(crate) fn finish(self, candidates: Vec<String>) -> Result<Profile, ProfileError> {
        let mut p = Profile::new(candidates)?;
        if p.num_candidates() != self.width {
            return Err(ProfileError::WrongLength {
                expected: p.num_candidates(),
                got: self.width,
            });
        }
        p.ranks = self.ranks;
        p.weights = self.weights;
        p.total = self.total;
        Ok(p)
    }
}

/// Ballots as ordered tiers of candidates (for IRV and STV), identical ballots merged.
///
/// Compact: the candidates of every ballot in order, one `u16` each; tier boundaries are kept
/// only for the ballots with a tier of several candidates (a million strict 20-candidate
/// rankings take about 60 MB).
#[derive(Debug, Clone)]
pub(crate) struct TierBallots {
    /// Candidate indices of all ballots, concatenated.
    items: Vec<u16>,
    /// End offset (into `items`) of each tier of the ballots with equal ranks.
    tier_ends: Vec<u32>,
    /// For each ballot: its candidates in `items` (start, end), and where its tier ends start
    /// in `tier_ends` ([`STRICT`] when every tier has one candidate).
    ballots: Vec<(u32, u32, u32)>,
    /// Weight of each ballot.
    pub(crate) weights: Vec<u64>,
}

/// A ballot whose every tier has one candidate (no entry in `tier_ends`).
const STRICT: u32 = u32::MAX;

/// The tiers of one ballot, best first.
pub(crate) struct Tiers<'a> {
    items: &'a [u16],
    /// Tier ends (offsets into `items` plus `base`); None for a strict ballot.
    ends: Option<&'a [u32]>,
    base: usize,
    pos: usize,
}

impl<'a> Iterator for Tiers<'a> {
    type Item = &'a [u16];

    #[inline]
    fn next(&mut self) -> Option<&'a [u16]> {
        if self.pos >= self.items.len() {
            return None;
        }
        let end = match &mut self.ends {
            None => self.pos + 1,
            Some(ends) => {
                let (&e, rest) = ends.split_first()?;
                *ends = rest;
                e as usize - self.base
            }
        };
        let tier = &self.items[self.pos..end];
        self.pos = end;
        Some(tier)
    }
}

impl TierBallots {
    /// Builds the tiers of every ballot under the given unranked rule, merging ballots with
    /// the same tiers.
    pub(crate) fn new(profile: &Profile, unranked: Unranked) -> Self {
        let m = profile.num_candidates();
        let mut out = TierBallots {
            items: Vec::new(),
            tier_ends: Vec::new(),
            ballots: Vec::new(),
            weights: Vec::new(),
        };
        if m == 0 {
            return out;
        }
        // Room for every candidate of every line at once (no doubling of a large buffer).
        let entries = match unranked {
            Unranked::Last => profile.ranks.len(),
            Unranked::NoOpinion => profile.ranks.iter().filter(|&&r| r != UNRANKED).count(),
        };
        out.items.reserve_exact(entries);
        let hasher = foldhash::fast::FixedState::default();
        // Every distinct ballot kept, hashed by its tiers.
        let mut index: hashbrown::HashTable<u32> = hashbrown::HashTable::new();
        // (rank, candidate) of the ranked candidates of a line, best first.
        let mut order: Vec<u32> = Vec::with_capacity(m);
        // Direct placement by rank, for the common ballot whose ranks are 1, 2, … k.
        let mut slots: Vec<u32> = vec![u32::MAX; m];
        for (ranks, w) in profile.raw_lines() {
            order.clear();
            let mut dense = true;
            for (c, &r) in ranks.iter().enumerate() {
                if r == UNRANKED {
                    continue;
                }
                let key = (u32::from(r) << 16) | c as u32;
                match slots.get_mut(usize::from(r).wrapping_sub(1)) {
                    Some(s) if dense && *s == u32::MAX => *s = key,
                    _ => dense = false,
                }
                order.push(key);
            }
            let count = order.len();
            if dense && slots[..count].iter().all(|&s| s != u32::MAX) {
                order.copy_from_slice(&slots[..count]);
            } else {
                order.sort_unstable();
            }
            if count > 0 {
                slots.fill(u32::MAX);
            }
            // Add the ballot, then take it back if the same tiers are already there.
            let start = out.items.len();
            let ends_before = out.tier_ends.len();
            let mut strict = true;
            let mut prev = None;
            for &key in &order {
                let r = key >> 16;
                if prev.is_some() {
                    if prev == Some(r) {
                        strict = false;
                    } else {
                        out.tier_ends.push(out.items.len() as u32);
                    }
                }
                out.items.push(key as u16);
                prev = Some(r);
            }
            if !order.is_empty() {
                out.tier_ends.push(out.items.len() as u32);
            }
            if unranked == Unranked::Last && order.len() < m {
                out.items
                    .extend((0..m as u16).filter(|&c| ranks[c as usize] == UNRANKED));
                strict &= m - order.len() == 1;
                out.tier_ends.push(out.items.len() as u32);
            }
            let tiers = if strict {
                out.tier_ends.truncate(ends_before);
                STRICT
            } else {
                ends_before as u32
            };
            out.ballots
                .push((start as u32, out.items.len() as u32, tiers));
            let new = out.ballots.len() - 1;
            let hash = out.hash_tiers(&hasher, new);
            if let Some(&b) = index.find(hash, |&b| out.same_tiers(b as usize, new)) {
                out.weights[b as usize] += u64::from(w);
                out.ballots.pop();
                out.tier_ends.truncate(ends_before);
                out.items.truncate(start);
                continue;
            }
            out.weights.push(u64::from(w));
            index.insert_unique(hash, new as u32, |&b| out.hash_tiers(&hasher, b as usize));
        }
        out.tier_ends.shrink_to_fit();
        out
    }

    /// A hash of ballot `b`'s tiers: its candidates in one go, and the tier sizes only for a
    /// ballot with equal ranks.
    fn hash_tiers(&self, hasher: &foldhash::fast::FixedState, b: usize) -> u64 {
        use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
        let mut h = hasher.build_hasher();
        let (items, strict) = self.items(b);
        items.hash(&mut h);
        if !strict {
            for tier in self.tiers(b) {
                h.write_usize(tier.len());
            }
        }
        h.finish()
    }

    /// Whether ballots `a` and `b` have the same tiers.
    fn same_tiers(&self, a: usize, b: usize) -> bool {
        let (items_a, strict_a) = self.items(a);
        let (items_b, strict_b) = self.items(b);
        items_a == items_b && strict_a == strict_b && (strict_a || self.tiers(a).eq(self.tiers(b)))
    }

    /// Number of distinct ballots.
    pub(crate) fn len(&self) -> usize {
        self.ballots.len()
    }

    /// The candidates of ballot `b` in order, and whether every tier has one candidate.
    pub(crate) fn items(&self, b: usize) -> (&[u16], bool) {
        let (start, end, tiers) = self.ballots[b];
        (&self.items[start as usize..end as usize], tiers == STRICT)
    }

    /// The tiers of ballot `b`, best first.
    pub(crate) fn tiers(&self, b: usize) -> Tiers<'_> {
        let (start, end, tiers) = self.ballots[b];
        Tiers {
            items: &self.items[start as usize..end as usize],
            ends: (tiers != STRICT).then(|| &self.tier_ends[tiers as usize..]),
            base: start as usize,
            pos: 0,
        }
    }

    /// Size of the largest tier of any ballot (at least 1).
    pub(crate) fn max_tier(&self) -> usize {
        (0..self.len())
            .flat_map(|b| self.tiers(b).map(<[u16]>::len))
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Sum of all weights.
    pub(crate) fn total_weight(&self) -> u64 {
        self.weights.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::ids;

    #[test]
    fn elekto_no_opinion_is_unranked() {
        let no_opinion = u32::try_from(NO_OPINION).expect("a positive rank");
        let b = Ballot::from_elekto_ranks(&[1, no_opinion, 2]);
        assert_eq!(b.ranks(), &[Some(1), None, Some(2)]);
    }

    #[test]
    fn rejects_bad_candidates_and_lengths() {
        assert_eq!(
            Profile::new(ids(&["a", "a"])),
            Err(ProfileError::DuplicateCandidate("a".into()))
        );
        assert_eq!(Profile::new(ids(&[""])), Err(ProfileError::EmptyCandidate));
        let mut p = Profile::new(ids(&["a", "b"])).unwrap();
        assert_eq!(
            p.push(&Ballot::new(vec![Some(1)])),
            Err(ProfileError::WrongLength {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            Ballot::from_tiers(2, &[vec![0], vec![0]]),
            Err(ProfileError::RankedTwice(0))
        );
        assert_eq!(
            Ballot::from_tiers(2, &[vec![2]]),
            Err(ProfileError::BadIndex(2))
        );
    }

    #[test]
    fn large_ranks_are_renumbered_in_order() {
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        p.push(&Ballot::new(vec![Some(4_000_000_000), None, Some(70_000)]))
            .unwrap();
        let (b, w) = p.line(0);
        assert_eq!(w, 1);
        assert_eq!(b.ranks(), &[Some(2), None, Some(1)]);
    }

    #[test]
    fn aggregate_and_remove() {
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        let x = Ballot::new(vec![Some(1), Some(2), None]);
        let y = Ballot::new(vec![Some(2), Some(1), None]);
        p.push(&x).unwrap();
        p.push(&y).unwrap();
        p.push_weighted(&x, 3).unwrap();
        p.push_weighted(&y, 0).unwrap();
        let a = p.aggregate();
        assert_eq!(a.num_lines(), 2);
        assert_eq!(a.num_ballots(), 5);
        assert_eq!(a.line(0), (x, 4));
        let r = p.without_candidates(&[1]);
        assert_eq!(r.candidates(), &ids(&["a", "c"])[..]);
        assert_eq!(r.line(1).0.ranks(), &[Some(2), None]);
    }

    /// Rows of width 3 from a small alphabet (many repeats), with weights 1 to 3.
    fn rows(n: usize, seed: u64) -> (Vec<u16>, Vec<u32>) {
        let mut x = seed;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u16
        };
        let mut rows = Vec::new();
        let mut weights = Vec::new();
        for _ in 0..n {
            for _ in 0..3 {
                let r = next() % 4;
                rows.push(if r == 0 { UNRANKED } else { r });
            }
            weights.push(u32::from(next() % 3) + 1);
        }
        (rows, weights)
    }

    fn one_by_one(rows: &[u16], weights: &[u32]) -> Profile {
        let mut g = GroupingProfile::new(3);
        for (row, &w) in rows.chunks_exact(3).zip(weights) {
            g.push_row(row, w);
        }
        g.finish(ids(&["a", "b", "c"])).unwrap()
    }

    #[test]
    fn batches_and_merged_pieces_group_as_one_by_one() {
        let (rows, weights) = rows(1000, 7);
        let expected = one_by_one(&rows, &weights);
        let mut plain = Profile::new(ids(&["a", "b", "c"])).unwrap();
        for (row, &w) in rows.chunks_exact(3).zip(&weights) {
            let ranks: Vec<Option<u32>> = row
                .iter()
                .map(|&r| (r != UNRANKED).then_some(u32::from(r)))
                .collect();
            plain.push_ranks(&ranks, w).unwrap();
        }
        assert_eq!(plain.aggregate(), expected);
        let mut g = GroupingProfile::new(3);
        g.push_rows(&rows, &weights);
        assert_eq!(g.finish(ids(&["a", "b", "c"])).unwrap(), expected);
        for cuts in [
            vec![0, 1000],
            vec![0, 500, 1000],
            vec![0, 10, 11, 600, 1000],
            vec![0, 0, 999, 1000],
        ] {
            let pieces: Vec<GroupingProfile> = cuts
                .windows(2)
                .map(|c| {
                    let mut g = GroupingProfile::new(3);
                    g.push_rows(&rows[c[0] * 3..c[1] * 3], &weights[c[0]..c[1]]);
                    g
                })
                .collect();
            for threads in [1, 2, 3] {
                let pieces = pieces
                    .iter()
                    .map(|p| {
                        let mut q = GroupingProfile::new(3);
                        q.push_rows(&p.ranks, &p.weights);
                        q
                    })
                    .collect();
                let mut merged = GroupingProfile::merge(pieces, threads);
                // Rows pushed after a merge find the merged lines.
                let (more, more_w) = self::rows(200, 8);
                merged.push_rows(&more, &more_w);
                let all: Vec<u16> = rows.iter().chain(&more).copied().collect();
                let all_w: Vec<u32> = weights.iter().chain(&more_w).copied().collect();
                assert_eq!(
                    merged.finish(ids(&["a", "b", "c"])).unwrap(),
                    one_by_one(&all, &all_w),
                    "{cuts:?} {threads}"
                );
            }
        }
    }

    #[test]
    fn tier_ballots() {
        let mut p = Profile::new(ids(&["a", "b", "c", "d"])).unwrap();
        p.push(&Ballot::new(vec![Some(2), Some(1), Some(2), None]))
            .unwrap();
        p.push(&Ballot::new(vec![Some(5), Some(3), Some(5), None]))
            .unwrap();
        let t = TierBallots::new(&p, Unranked::NoOpinion);
        assert_eq!(t.len(), 1);
        assert_eq!(t.weights, vec![2]);
        let tiers: Vec<&[u16]> = t.tiers(0).collect();
        assert_eq!(tiers, vec![&[1u16][..], &[0, 2][..]]);
        let t = TierBallots::new(&p, Unranked::Last);
        let tiers: Vec<&[u16]> = t.tiers(0).collect();
        assert_eq!(tiers, vec![&[1u16][..], &[0, 2][..], &[3][..]]);
        assert_eq!(t.max_tier(), 2);
    }
}
