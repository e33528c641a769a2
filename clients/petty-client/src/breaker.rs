//! A circuit breaker per host: after `failure_threshold` consecutive failures the host is
//! *open* and calls are refused at once (no network); after `cool_down` one probe is let
//! through (*half-open*); its success closes the circuit, its failure opens it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When the breaker opens and how long it stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures (5xx, connection errors, timeouts) that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe is let through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down: Duration::from_secs(30) }
    }
}

/// The state of one host's circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; `failures` consecutive failures so far.
    Closed { failures: u32 },
    /// Calls are refused until `until`.
    Open { until: Instant },
    /// One probe is in flight; other calls are refused until it answers.
    HalfOpen,
}

/// Circuits by host (`host:port`).
#[derive(Debug, Default)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    hosts: Mutex<HashMap<String, CircuitState>>,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self { settings, hosts: Mutex::default() }
    }

    /// Asks to call `host`: `Ok(())` to go ahead, `Err(wait)` when the circuit is open (or a
    /// probe is already in flight), with how long until a probe may go.
    pub fn acquire(&self, host: &str) -> Result<(), Duration> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let state = hosts.entry(host.to_owned()).or_insert(CircuitState::Closed { failures: 0 });
        match *state {
            CircuitState::Closed { .. } => Ok(()),
            CircuitState::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = CircuitState::HalfOpen;
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            CircuitState::HalfOpen => Err(Duration::ZERO),
        }
    }

    /// The call reached the host and it answered (anything but a 5xx).
    pub fn success(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.insert(host.to_owned(), CircuitState::Closed { failures: 0 });
    }

    /// The call failed (5xx, connection error, timeout).
    pub fn failure(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let state = hosts.entry(host.to_owned()).or_insert(CircuitState::Closed { failures: 0 });
        let open = CircuitState::Open { until: Instant::now() + self.settings.cool_down };
        *state = match *state {
            CircuitState::Closed { failures } if failures + 1 >= self.settings.failure_threshold => open,
            CircuitState::Closed { failures } => CircuitState::Closed { failures: failures + 1 },
            CircuitState::HalfOpen | CircuitState::Open { .. } => open,
        };
    }

    /// The current state of `host`'s circuit.
    pub fn state(&self, host: &str) -> CircuitState {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.get(host).copied().unwrap_or(CircuitState::Closed { failures: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_one_probe_and_closes_on_success() {
        let b = CircuitBreaker::new(BreakerSettings { failure_threshold: 3, cool_down: Duration::from_millis(30) });
        for _ in 0..2 {
            b.acquire("h").unwrap();
            b.failure("h");
        }
        assert_eq!(b.state("h"), CircuitState::Closed { failures: 2 });
        b.failure("h");
        assert!(matches!(b.state("h"), CircuitState::Open { .. }));
        assert!(b.acquire("h").is_err(), "open: refused");
        assert!(b.acquire("other").is_ok(), "per host");
        std::thread::sleep(Duration::from_millis(35));
        assert!(b.acquire("h").is_ok(), "cool-down over: one probe");
        assert_eq!(b.acquire("h"), Err(Duration::ZERO), "only one probe at a time");
        b.success("h");
        assert_eq!(b.state("h"), CircuitState::Closed { failures: 0 });
    }

    #[test]
    fn a_failed_probe_opens_again() {
        let b = CircuitBreaker::new(BreakerSettings { failure_threshold: 1, cool_down: Duration::from_millis(10) });
        b.failure("h");
        std::thread::sleep(Duration::from_millis(12));
        assert!(b.acquire("h").is_ok());
        b.failure("h");
        assert!(b.acquire("h").is_err());
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = CircuitBreaker::new(BreakerSettings { failure_threshold: 2, cool_down: Duration::from_secs(60) });
        b.failure("h");
        b.success("h");
        b.failure("h");
        assert!(b.acquire("h").is_ok());
    }
}
