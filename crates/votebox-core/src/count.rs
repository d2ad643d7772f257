//! Counting methods. See the counting issue.
