//! A small fixed-capacity bit set over candidate indices (internal helper).

/// Set of candidate indices `0..capacity`, stored as 64-bit words.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// The empty set able to hold `0..n`.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// The set `{0, 1, …, n-1}`.
    pub(crate) fn full(n: usize) -> Self {
        let mut s = Self::new(n);
        for i in 0..n {
            s.insert(i);
        }
        s
    }

    /// The set holding exactly `items` (capacity `n`).
    pub(crate) fn from_items(n: usize, items: impl IntoIterator<Item = usize>) -> Self {
        let mut s = Self::new(n);
        for i in items {
            s.insert(i);
        }
        s
    }

    pub(crate) fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    pub(crate) fn remove(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn union_with(&mut self, other: &Self) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    pub(crate) fn intersect_with(&mut self, other: &Self) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// `self \ other`.
    pub(crate) fn difference(&self, other: &Self) -> Self {
        Self {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & !b)
                .collect(),
        }
    }

    /// Members in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::BitSet;

    #[test]
    fn basic_operations() {
        let mut s = BitSet::new(130);
        assert_eq!(s.iter().count(), 0);
        s.insert(0);
        s.insert(64);
        s.insert(129);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 64, 129]);
        assert!(s.contains(64) && !s.contains(63));
        s.remove(64);
        assert_eq!(s.iter().count(), 2);
        let full = BitSet::full(130);
        assert_eq!(full.iter().count(), 130);
        assert_eq!(full.difference(&s).iter().count(), 128);
        let mut t = BitSet::from_items(130, [0, 5]);
        t.intersect_with(&s);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![0]);
        t.union_with(&s);
        assert_eq!(t, s);
    }
}
