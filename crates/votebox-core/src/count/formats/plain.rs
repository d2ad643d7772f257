//! Reading the ballots of a large file in parallel: the body is cut at line breaks into one
//! piece per core, each piece read by a fast path for plain ballots into its own
//! [`GroupingProfile`], and the pieces merged in order. The pieces read whole from the start
//! count, up to the first that stops early (a line the fast path does not take); the caller's
//! general reader goes on from there, so the result is exactly that of reading in one go.

use crate::count::profile::{BATCH, GroupingProfile};

/// Bodies smaller than this are read on one thread.
const PARALLEL_FROM: usize = 4 << 20;

/// What the fast path read from one piece.
pub(super) struct Piece {
    /// The ballots read.
    pub(super) profile: GroupingProfile,
    /// Offset (in the piece) just after the last ballot read; 0 if none.
    pub(super) end: usize,
    /// Whether the fast path read the whole piece (nothing after `end` but what it skips).
    pub(super) complete: bool,
}

/// Reads `body` with `read` (on pieces of whole lines, in parallel when large) and returns the
/// merged ballots and the offset in `body` just after the last one read (0 if none).
pub(super) fn read_plain<F>(body: &[u8], width: usize, read: F) -> (GroupingProfile, usize)
where
    F: Fn(&[u8]) -> Piece + Sync,
{
    let mut pieces = in_pieces(body, &read);
    if pieces.len() == 1 {
        let (_, only) = pieces.remove(0);
        return (only.profile, only.end);
    }
    // The pieces that count: up to the first incomplete one.
    let used = pieces
        .iter()
        .position(|(_, p)| !p.complete)
        .map_or(pieces.len(), |i| i + 1);
    // Merging is exact unless a merged weight could pass u32::MAX (a line would then split
    // where reading in one go would not split it): then read again on one thread.
    let total: u64 = pieces[..used].iter().map(|(_, p)| p.profile.total()).sum();
    if total > u64::from(u32::MAX) {
        let p = read(body);
        return (p.profile, p.end);
    }
    let threads = pieces.len();
    let mut end = 0;
    let mut profiles = Vec::with_capacity(used);
    for (start, piece) in pieces.into_iter().take(used) {
        if piece.end > 0 {
            end = start + piece.end;
        }
        profiles.push(piece.profile);
    }
    let merged = if profiles.is_empty() {
        GroupingProfile::new(width)
    } else {
        GroupingProfile::merge(profiles, threads)
    };
    (merged, end)
}

/// Rows read but not yet added to a profile: they are added [`BATCH`] at a time
/// ([`GroupingProfile::push_rows`]).
pub(super) struct Pending {
    rows: Vec<u16>,
    weights: Vec<u32>,
}

impl Pending {
    pub(super) fn new(width: usize) -> Self {
        Self {
            rows: Vec::with_capacity(BATCH * width),
            weights: Vec::with_capacity(BATCH),
        }
    }

    /// Adds a row to `profile` (now or with the next ones).
    #[inline]
    pub(super) fn push(&mut self, row: &[u16], weight: u32, profile: &mut GroupingProfile) {
        self.rows.extend_from_slice(row);
        self.weights.push(weight);
        if self.weights.len() == BATCH {
            self.flush(profile);
        }
    }

    /// Adds the rows still waiting.
    pub(super) fn flush(&mut self, profile: &mut GroupingProfile) {
        profile.push_rows(&self.rows, &self.weights);
        self.rows.clear();
        self.weights.clear();
    }
}

/// [`read_plain`] for formats of one ballot per line: `line` reads one line (without its
/// `\n` or a `\r` before it) into the row (all `UNRANKED` on entry) and returns its weight
/// (0 for a line without a ballot), or None when the fast path does not take it.
pub(super) fn read_plain_lines<F>(body: &[u8], width: usize, line: F) -> (GroupingProfile, usize)
where
    F: Fn(&[u8], &mut [u16]) -> Option<u32> + Sync,
{
    read_plain(body, width, |b| {
        use crate::count::profile::UNRANKED;
        let mut profile = GroupingProfile::new(width);
        let mut row = vec![UNRANKED; width];
        let mut pending = Pending::new(width);
        let mut pos = 0;
        while pos < b.len() {
            let end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
            let text = &b[pos..end];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            let Some(weight) = line(text, &mut row) else {
                pending.flush(&mut profile);
                return Piece {
                    profile,
                    end: pos,
                    complete: false,
                };
            };
            pending.push(&row, weight, &mut profile);
            row.fill(UNRANKED);
            pos = (end + 1).min(b.len());
        }
        pending.flush(&mut profile);
        Piece {
            profile,
            end: pos,
            complete: true,
        }
    })
}

/// Numbered lines of `text`, the first numbered `first`: without `\r` before `\n`, and
/// without the empty piece after a final newline.
pub(crate) fn lines_from(text: &str, first: usize) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    text.split('\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(move |(i, l)| (first + i, l))
}

/// `read` on each piece of `body` cut at line breaks, one piece per core (a single piece when
/// `body` is small or there is one core), read in parallel; each result with the offset of its
/// piece in `body`, in the file's order.
pub(crate) fn in_pieces<T, F>(body: &[u8], read: F) -> Vec<(usize, T)>
where
    T: Send,
    F: Fn(&[u8]) -> T + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || body.len() < PARALLEL_FROM {
        return vec![(0, read(body))];
    }
    let mut cuts = vec![0];
    for t in 1..threads {
        let from = (body.len() * t / threads).max(*cuts.last().unwrap_or(&0));
        let cut = memchr::memchr(b'\n', &body[from..]).map_or(body.len(), |i| from + i + 1);
        cuts.push(cut);
    }
    cuts.push(body.len());
    std::thread::scope(|scope| {
        let read = &read;
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let (start, piece) = (w[0], &body[w[0]..w[1]]);
                scope.spawn(move || (start, read(piece)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The count that starts a ballot line at `b[i..]`: 1 to 9 ASCII digits (so it fits a u32
/// without a check); the count and the offset just after it.
#[inline]
pub(super) fn small_count(b: &[u8], mut i: usize) -> Option<(u32, usize)> {
    let start = i;
    let mut count: u32 = 0;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if i - start >= 9 {
            return None;
        }
        count = count * 10 + u32::from(d - b'0');
        i += 1;
    }
    (i > start).then_some((count, i))
}
