//! Frame-time statistics of the window: how long each frame's UI work took (events from the workers,
//! layout, intents), over the last frames, as the median and the 99th percentile. Shown in the status
//! bar's hover text, and read by the UI tests while a job runs or a slider moves.

use std::collections::VecDeque;
use std::time::Duration;

/// Frames kept for the statistics.
pub const WINDOW: usize = 600;

/// The last [`WINDOW`] frame times.
#[derive(Clone, Debug, Default)]
pub struct FrameTimes {
    times: VecDeque<Duration>,
}

impl FrameTimes {
    /// Records one frame.
    pub fn record(&mut self, time: Duration) {
        if self.times.len() == WINDOW {
            self.times.pop_front();
        }
        self.times.push_back(time);
    }

    /// Forgets every frame (to measure a new phase).
    pub fn clear(&mut self) {
        self.times.clear();
    }

    /// Frames recorded.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True when no frame is recorded.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The `q` quantile (0..=1, nearest rank) of the recorded times; zero when there are none.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted: Vec<Duration> = self.times.iter().copied().collect();
        sorted.sort_unstable();
        match sorted.len() {
            0 => Duration::ZERO,
            n => sorted[((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n) - 1],
        }
    }

    /// "p50 1.2 ms, p99 4.5 ms over 600 frames".
    pub fn describe(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!("p50 {:.1} ms, p99 {:.1} ms over {} frames", ms(self.quantile(0.5)), ms(self.quantile(0.99)), self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank_over_a_sliding_window() {
        let mut f = FrameTimes::default();
        assert_eq!(f.quantile(0.5), Duration::ZERO);
        for ms in 1..=100 {
            f.record(Duration::from_millis(ms));
        }
        assert_eq!(f.quantile(0.5), Duration::from_millis(50));
        assert_eq!(f.quantile(0.99), Duration::from_millis(99));
        assert_eq!(f.quantile(1.0), Duration::from_millis(100));
        for _ in 0..WINDOW {
            f.record(Duration::from_millis(2));
        }
        assert_eq!((f.len(), f.quantile(0.99)), (WINDOW, Duration::from_millis(2)));
        assert!(f.describe().starts_with("p50 2.0 ms, p99 2.0 ms"));
    }
}
