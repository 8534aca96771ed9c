//! `--shard K/N`: deterministic slices of the input records, for running one corpus
//! on many machines.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The K-th (1-based) of N slices of the input records.
///
/// A record belongs to the slice given by a SHA-256 hash of its input's shard name
/// (the path relative to the directory given, or the file name; see
/// [`Source::shard_name`](super::source::Source::shard_name)) and its record index,
/// so the slices are the same on every machine and every run, and the N slices
/// together hold every record exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, 1..=`count`.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// Whether record `record` of the input with shard name `name` is in this slice.
    pub fn contains(&self, name: &str, record: usize) -> bool {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((record as u64).to_le_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first) % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not K/N with 1 <= K <= N (e.g. 2/8)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/8".parse(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_record_is_in_exactly_one_shard_and_shards_are_balanced() {
        let shards: Vec<Shard> = (1..=4).map(|k| Shard { index: k, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for file in ["a.txt", "dir/b.jsonl", "-"] {
            for record in 0..1000 {
                let owners: Vec<usize> = (0..4)
                    .filter(|&i| shards[i].contains(file, record))
                    .collect();
                assert_eq!(owners.len(), 1, "{file}:{record}");
                sizes[owners[0]] += 1;
            }
        }
        assert!(sizes.iter().all(|&n| (600..900).contains(&n)), "{sizes:?}");
    }

    #[test]
    fn slices_are_fixed() {
        // The assignment must never change between versions or machines: users
        // split a corpus over machines running different builds.
        let owner =
            |name, record| (1..=3).find(|&k| Shard { index: k, count: 3 }.contains(name, record));
        let got: Vec<_> = (0..8)
            .map(|r| owner("speeches/a.txt", r).unwrap())
            .collect();
        assert_eq!(got, FIXED_OWNERS);
    }

    /// Owners of records 0..8 of `speeches/a.txt` among 3 shards, recorded once.
    const FIXED_OWNERS: [u64; 8] = [2, 2, 3, 2, 2, 3, 2, 1];
}
