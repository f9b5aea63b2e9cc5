//! Faults on purpose: a server that misbehaves the way networks and broken peers do, so that a
//! client can be tested against it (`serve --fault SPEC`).
//!
//! A [`FaultSpec`] is `KIND[=VALUE][@PERCENT]`: one [`Fault`] and the chance that a connection
//! gets it, decided once when the connection is accepted (`spec`: the specs, parsed and printed
//! back, every kind's form in one table). [`Faults`] is the server's list and its seed;
//! [`Faults::draws`] makes the one generator the accept loop draws each connection's faults from
//! ([`Draws::next_connection`]), so the same seed gives the same connections the same faults.
//! [`shaper`] is what a connection does with the faults it drew: which echo line is dropped or
//! changed, when each write goes out and in how many pieces, where the stream is cut.
//!
//! Pure: text in, specs out; a seed in, draws out. The server's write path applies them.

pub mod shaper;
mod spec;

use std::fmt;

pub use spec::{Count, FORMS, Fault, FaultSpec, Kind, Percent, Unit};

/// The server's faults and the seed of their draws. Empty: a server that behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    pub specs: Vec<FaultSpec>,
    pub seed: u64,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The generator the accept loop draws each connection's faults from.
    pub fn draws(&self) -> Draws {
        Draws {
            specs: self.specs.clone(),
            rng: fastrand::Rng::with_seed(self.seed),
        }
    }
}

/// `latency=200ms~50ms, reset-after=5lines@20%, seed 1234`, as the start-up line names them.
impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for spec in &self.specs {
            write!(f, "{spec}, ")?;
        }
        write!(f, "seed {}", self.seed)
    }
}

/// Draws each connection's faults, in the order the connections are accepted.
#[derive(Debug, Clone)]
pub struct Draws {
    specs: Vec<FaultSpec>,
    rng: fastrand::Rng,
}

impl Draws {
    /// The faults of the next connection accepted, if it gets any. Each spec's chance is drawn
    /// in the order given, then the seed of the connection's own draws (jitter, which line is
    /// dropped or changed), so a connection's faults depend only on its place in the accept
    /// order and on what it does, never on its neighbours' timing.
    pub fn next_connection(&mut self) -> Option<Drawn> {
        let mut faults: Vec<Fault> = Vec::new();
        for spec in &self.specs {
            if spec.chance.happens(&mut self.rng) {
                // Two of a kind: the one given last counts.
                faults.retain(|f| f.kind() != spec.fault.kind());
                faults.push(spec.fault);
            }
        }
        let seed = self.rng.u64(..);
        (!faults.is_empty()).then_some(Drawn { faults, seed })
    }
}

/// The faults one connection drew, and the seed of its own draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub faults: Vec<Fault>,
    pub seed: u64,
}

impl Drawn {
    /// Whether the connection is to be reset as soon as it is accepted.
    pub fn refuses(&self) -> bool {
        self.faults.contains(&Fault::Refuse)
    }
}

/// `latency=200ms~50ms, reset-after=5lines`, as a connection's log names what it drew.
impl fmt::Display for Drawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.faults.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn spec(text: &str) -> FaultSpec {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    fn faults(specs: &[&str], seed: u64) -> Faults {
        Faults {
            specs: specs.iter().map(|s| spec(s)).collect(),
            seed,
        }
    }

    #[test]
    fn the_start_up_line_names_every_spec_and_the_seed() {
        let f = faults(&["latency=200ms~50ms", "reset-after=5lines@20%"], 1234);
        assert_eq!(
            f.to_string(),
            "latency=200ms~50ms, reset-after=5lines@20%, seed 1234"
        );
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_for_the_same_connections() {
        let f = faults(&["drop=5%@50%", "reset-after=3lines@30%"], 7);
        let run = |f: &Faults| {
            let mut draws = f.draws();
            (0..200)
                .map(|_| draws.next_connection())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&f), run(&f));
        let other = Faults {
            seed: 8,
            ..f.clone()
        };
        assert_ne!(run(&f), run(&other), "another seed, other draws");
    }

    #[test]
    fn certain_faults_always_apply_and_two_of_a_kind_keep_the_last() {
        let f = faults(&["latency=1s", "refuse@0%", "latency=2s"], 1);
        let mut draws = f.draws();
        for _ in 0..100 {
            let drawn = draws.next_connection().expect("latency is certain");
            assert_eq!(
                drawn.faults,
                [Fault::Latency {
                    hold: ms(2000),
                    jitter: Duration::ZERO
                }]
            );
            assert!(!drawn.refuses());
            assert_eq!(drawn.to_string(), "latency=2s");
        }
        let mut never = faults(&["refuse@0%"], 1).draws();
        assert!((0..100).all(|_| never.next_connection().is_none()));
    }

    /// The share of connections that get a fault is its chance, within the bounds a binomial
    /// count keeps (five standard deviations: a fixed seed makes it exact, any seed keeps it).
    #[test]
    fn each_chance_comes_true_for_its_share_of_connections() {
        const N: u32 = 10_000;
        for (text, p) in [
            ("refuse@20%", 0.2),
            ("refuse@2.5%", 0.025),
            ("refuse@90%", 0.9),
        ] {
            for seed in [1, 2, 3] {
                let mut draws = faults(&[text], seed).draws();
                let got = (0..N).filter(|_| draws.next_connection().is_some()).count() as f64;
                let mean = f64::from(N) * p;
                let sd = (mean * (1.0 - p)).sqrt();
                assert!(
                    (got - mean).abs() <= 5.0 * sd,
                    "{text}, seed {seed}: {got} of {N}, expected {mean} ± {}",
                    5.0 * sd
                );
            }
        }
    }
}
