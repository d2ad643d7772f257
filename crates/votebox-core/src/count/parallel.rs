//! Counting work split between the cores: no I/O, only scoped threads over borrowed data.

use std::ops::Range;

/// The threads a large count uses: the cores there are, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// `f` of `0..len` cut into `runs` consecutive runs (as even as can be), each on its own
/// scoped thread; the results in run order. A panic in a run is raised again here.
pub(crate) fn per_run<T, F>(len: usize, runs: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(Range<usize>) -> T + Sync,
{
    let runs = runs.max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..runs)
            .map(|t| scope.spawn(move || f(len * t / runs..len * (t + 1) / runs)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_cover_the_range_in_order() {
        for (len, runs) in [(0, 3), (1, 3), (10, 3), (10, 1), (7, 0)] {
            let parts = super::per_run(len, runs, |r| r);
            assert_eq!(parts.len(), runs.max(1));
            assert_eq!(
                parts.iter().flat_map(Clone::clone).collect::<Vec<_>>(),
                (0..len).collect::<Vec<_>>()
            );
        }
    }
}
