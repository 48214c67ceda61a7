//! One share of a scenario's load: `--shard I/N` runs the I-th of N equal
//! parts of every phase, so N generators (processes, machines, pods of a
//! Kubernetes Indexed Job) together send exactly the scenario's load at one
//! shared target, and [`merge`](crate::merge) adds their records up again.
//!
//! Rates split as `f64` (`r / N` each, summing to `r`); whole numbers —
//! users, burst sizes, in-flight caps — split with the remainder going to
//! the lowest indices (1000 users over 3 shards: 334, 333, 333). Each shard
//! draws its journeys from its own seed, derived from the scenario's, so
//! the shards do not send the same module sequence in lock-step.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Load;

/// The I-th of N shares of a run (`0 <= index < count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards share the load.
    pub count: u32,
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard `{given}`: {reason} (expected I/N with 0 <= I < N, e.g. 0/4)")]
pub struct ShardError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Default for Shard {
    /// The whole load: one shard of one.
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// [`ShardError`] when `count` is 0 or `index >= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let given = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError {
                given,
                reason: "the shard count must be at least 1".into(),
            });
        }
        if index >= count {
            return Err(ShardError {
                given,
                reason: format!(
                    "index {index} is not below the count {count} (indices start at 0)"
                ),
            });
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard is the one that acts on the target (faults,
    /// operator actions, probes): shard 0.
    pub fn is_first(self) -> bool {
        self.index == 0
    }

    /// This shard's part of `total` whole units: `total / N`, plus one for
    /// the lowest `total % N` indices. The parts of all shards sum to
    /// `total` and differ by at most one.
    ///
    /// ```
    /// use somon_scenarios::Shard;
    /// let parts: Vec<u64> = (0..3).map(|i| Shard::new(i, 3).unwrap().part(1000)).collect();
    /// assert_eq!(parts, [334, 333, 333]);
    /// ```
    pub fn part(self, total: u64) -> u64 {
        let count = u64::from(self.count);
        total / count + u64::from(u64::from(self.index) < total % count)
    }

    /// This shard's part of a rate: `rate / N`.
    pub fn rate(self, rate: f64) -> f64 {
        rate / f64::from(self.count)
    }

    /// The seed this shard draws its journeys from: the scenario's own for
    /// a single shard (so `--shard 0/1` sends what an unsharded run sends),
    /// otherwise a SplitMix64 mix of it and the index, different per shard
    /// and the same on every re-run.
    pub fn seed(self, base: u64) -> u64 {
        if self.count == 1 {
            return base;
        }
        let mut z = base.wrapping_add(
            u64::from(self.index)
                .wrapping_add(1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// This shard's share of a phase's load. A whole-number load whose
    /// share is zero (3 users over 4 shards: the fourth gets none) becomes
    /// [`Load::Idle`]: the shard still watches the target for the phase's
    /// length, so its clock stays in step with the others.
    pub fn load(self, load: &Load) -> Load {
        let part32 = |n: u32| u32::try_from(self.part(u64::from(n))).unwrap_or(n);
        match load {
            Load::Closed {
                users,
                ramp,
                think,
                journeys,
            } => match part32(*users) {
                0 => Load::Idle,
                users => Load::Closed {
                    users,
                    ramp: *ramp,
                    think: *think,
                    journeys: journeys.clone(),
                },
            },
            Load::Open {
                steps,
                max_in_flight,
                journeys,
            } => Load::Open {
                steps: steps.iter().map(|(r, d)| (self.rate(*r), *d)).collect(),
                // The cap bounds one generator; at least one request may
                // always be in flight.
                max_in_flight: part32(*max_in_flight).max(1),
                journeys: journeys.clone(),
            },
            Load::Burst { count, journey } => match part32(*count) {
                0 => Load::Idle,
                count => Load::Burst {
                    count,
                    journey: journey.clone(),
                },
            },
            Load::Idle => Load::Idle,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = |reason: &str| ShardError {
            given: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(|| bad("no `/`"))?;
        let index = i
            .trim()
            .parse::<u32>()
            .map_err(|_| bad("the index is not a whole number"))?;
        let count = n
            .trim()
            .parse::<u32>()
            .map_err(|_| bad("the count is not a whole number"))?;
        Shard::new(index, count).map_err(|e| ShardError {
            given: s.to_owned(),
            ..e
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::Journey;

    #[test]
    fn parses_and_rejects_shards() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::default());
        for bad in ["4/4", "1/0", "x/4", "2", "-1/4", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.to_string().contains("expected I/N"), "{bad}: {e}");
        }
        assert!("4/4"
            .parse::<Shard>()
            .unwrap_err()
            .reason
            .contains("not below"));
    }

    #[test]
    fn users_split_with_the_remainder_to_the_lowest_indices() {
        let closed = Load::Closed {
            users: 1000,
            ramp: Duration::from_secs(10),
            think: Duration::ZERO,
            journeys: vec![(Journey::LoadCached, 1)],
        };
        let users: Vec<u32> = (0..3)
            .map(|i| match Shard::new(i, 3).unwrap().load(&closed) {
                Load::Closed { users, ramp, .. } => {
                    assert_eq!(ramp, Duration::from_secs(10));
                    users
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(users, [334, 333, 333]);
    }

    #[test]
    fn rates_split_as_fractions_and_zero_shares_idle() {
        let open = Load::Open {
            steps: vec![(100.0, Duration::ZERO), (300.0, Duration::from_secs(5))],
            max_in_flight: 2,
            journeys: vec![(Journey::Ops, 1)],
        };
        let Load::Open {
            steps,
            max_in_flight,
            ..
        } = Shard::new(2, 3).unwrap().load(&open)
        else {
            panic!("open stays open");
        };
        assert!((steps[0].0 - 100.0 / 3.0).abs() < 1e-12);
        assert_eq!(steps[1], (100.0, Duration::from_secs(5)));
        assert_eq!(max_in_flight, 1, "a cap never splits to zero");
        let burst = Load::Burst {
            count: 3,
            journey: Journey::Health,
        };
        assert_eq!(Shard::new(3, 4).unwrap().load(&burst), Load::Idle);
        assert_eq!(
            Shard::new(2, 4).unwrap().load(&burst),
            Load::Burst {
                count: 1,
                journey: Journey::Health
            }
        );
    }

    #[test]
    fn seeds_differ_per_shard_and_one_shard_keeps_the_scenario_seed() {
        assert_eq!(Shard::default().seed(42), 42);
        let seeds: std::collections::HashSet<u64> =
            (0..8).map(|i| Shard::new(i, 8).unwrap().seed(42)).collect();
        assert_eq!(seeds.len(), 8);
        assert_eq!(
            Shard::new(3, 8).unwrap().seed(42),
            Shard::new(3, 8).unwrap().seed(42)
        );
    }

    proptest! {
        #[test]
        fn parts_sum_to_the_whole_and_differ_by_at_most_one(total in 0u64..1_000_000, count in 1u32..200) {
            let parts: Vec<u64> = (0..count).map(|i| Shard::new(i, count).unwrap().part(total)).collect();
            prop_assert_eq!(parts.iter().sum::<u64>(), total);
            let max = *parts.iter().max().unwrap();
            let min = *parts.iter().min().unwrap();
            prop_assert!(max - min <= 1);
            // The larger parts go to the lowest indices.
            prop_assert!(parts.windows(2).all(|w| w[0] >= w[1]));
        }

        #[test]
        fn rates_sum_to_the_whole(rate in 0.0f64..100_000.0, count in 1u32..200) {
            let sum: f64 = (0..count).map(|i| Shard::new(i, count).unwrap().rate(rate)).sum();
            prop_assert!((sum - rate).abs() <= rate * 1e-12 + 1e-9);
        }
    }
}
