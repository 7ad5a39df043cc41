//! Reading the server's `/metrics` during a bot run: process CPU, ticks and clients.

use std::time::Instant;

/// The figures of one `/metrics` scrape that the report needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sample {
    /// `process_cpu_seconds_total`.
    pub(crate) cpu_seconds: Option<f64>,
    /// Ticks of the space: the largest `plaza_tick_duration_seconds_count` over its regions.
    pub(crate) ticks: Option<f64>,
    /// Seconds spent ticking, summed over the space's regions.
    pub(crate) tick_seconds: Option<f64>,
    /// `plaza_clients{space}`.
    pub(crate) clients: Option<f64>,
    /// `plaza_bytes_out_total{space}`.
    pub(crate) bytes_out: Option<f64>,
    /// `process_resident_memory_bytes`.
    pub(crate) rss_bytes: Option<f64>,
}

/// Parses the Prometheus/OpenMetrics text for the figures of `space`.
pub(crate) fn parse(text: &str, space: &str) -> Sample {
    let space_label = format!("space=\"{space}\"");
    let mut sample = Sample::default();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let ours = labels.split(',').any(|l| l == space_label);
        let add = |slot: &mut Option<f64>| *slot = Some(slot.unwrap_or(0.0) + value);
        match name {
            "process_cpu_seconds_total" => sample.cpu_seconds = Some(value),
            "process_resident_memory_bytes" => sample.rss_bytes = Some(value),
            "plaza_tick_duration_seconds_count" if ours => {
                sample.ticks = Some(sample.ticks.map_or(value, |t| t.max(value)));
            }
            "plaza_tick_duration_seconds_sum" if ours => add(&mut sample.tick_seconds),
            "plaza_clients" if ours => add(&mut sample.clients),
            "plaza_bytes_out_total" if ours => add(&mut sample.bytes_out),
            _ => {}
        }
    }
    sample
}

/// Scrapes `{base}/metrics`.
pub(crate) async fn scrape(
    http: &reqwest::Client,
    base: &str,
    space: &str,
) -> Result<(Instant, Sample), reqwest::Error> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok((Instant::now(), parse(&text, space)))
}

/// Server figures integrated over a window of scrapes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    first: Option<(Instant, Sample)>,
    last: Option<(Instant, Sample)>,
    /// Σ clients × ticks between consecutive scrapes (clients averaged over each interval).
    client_ticks: f64,
    /// Scrapes that failed.
    pub(crate) failures: u64,
}

/// What a [`Window`] adds up to.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct WindowFigures {
    pub(crate) seconds: f64,
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) ticks: Option<f64>,
    pub(crate) client_ticks: Option<f64>,
    pub(crate) tick_seconds: Option<f64>,
    pub(crate) bytes_out: Option<f64>,
    pub(crate) rss_bytes: Option<f64>,
}

impl Window {
    /// Adds a scrape.
    pub(crate) fn push(&mut self, at: Instant, sample: Sample) {
        if let Some((_, prev)) = &self.last
            && let (Some(t0), Some(t1), Some(c0), Some(c1)) =
                (prev.ticks, sample.ticks, prev.clients, sample.clients)
        {
            self.client_ticks += (t1 - t0).max(0.0) * (c0 + c1) / 2.0;
        }
        if self.first.is_none() {
            self.first = Some((at, sample.clone()));
        }
        self.last = Some((at, sample));
    }

    /// Differences between the first and the last scrape.
    pub(crate) fn figures(&self) -> Option<WindowFigures> {
        let ((t0, a), (t1, b)) = (self.first.as_ref()?, self.last.as_ref()?);
        let diff = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
        let ticks = diff(a.ticks, b.ticks);
        Some(WindowFigures {
            seconds: t1.duration_since(*t0).as_secs_f64(),
            cpu_seconds: diff(a.cpu_seconds, b.cpu_seconds),
            client_ticks: ticks.map(|_| self.client_ticks),
            ticks,
            tick_seconds: diff(a.tick_seconds, b.tick_seconds),
            bytes_out: diff(a.bytes_out, b.bytes_out),
            rss_bytes: b.rss_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TEXT: &str = "# HELP process_cpu_seconds Total user and system CPU time\n\
        # TYPE process_cpu_seconds counter\n\
        process_cpu_seconds_total 12.5\n\
        process_resident_memory_bytes 1048576\n\
        plaza_tick_duration_seconds_sum{space=\"abc\",region=\"all\"} 0.75\n\
        plaza_tick_duration_seconds_count{space=\"abc\",region=\"all\"} 300\n\
        plaza_tick_duration_seconds_count{space=\"other\",region=\"all\"} 999\n\
        plaza_tick_duration_seconds_bucket{space=\"abc\",region=\"all\",le=\"0.0001\"} 3\n\
        plaza_clients{space=\"abc\"} 20\n\
        plaza_clients{space=\"abcd\"} 7\n\
        plaza_bytes_out_total{space=\"abc\"} 4096\n\
        # EOF\n";

    #[test]
    fn parses_the_figures_of_one_space() {
        let s = parse(TEXT, "abc");
        assert_eq!(s.cpu_seconds, Some(12.5));
        assert_eq!(s.rss_bytes, Some(1048576.0));
        assert_eq!(s.ticks, Some(300.0));
        assert_eq!(s.tick_seconds, Some(0.75));
        assert_eq!(s.clients, Some(20.0));
        assert_eq!(s.bytes_out, Some(4096.0));
        let none = parse(TEXT, "zzz");
        assert_eq!(none.ticks, None);
        assert_eq!(none.cpu_seconds, Some(12.5));
    }

    #[test]
    fn window_integrates_clients_times_ticks() {
        let t = Instant::now();
        let sample = |cpu, ticks, clients| Sample {
            cpu_seconds: Some(cpu),
            ticks: Some(ticks),
            tick_seconds: Some(ticks / 1000.0),
            clients: Some(clients),
            bytes_out: Some(0.0),
            rss_bytes: None,
        };
        let mut w = Window::default();
        w.push(t, sample(1.0, 100.0, 10.0));
        w.push(t + Duration::from_secs(1), sample(1.5, 120.0, 10.0));
        w.push(t + Duration::from_secs(2), sample(2.0, 140.0, 30.0));
        let f = w.figures().unwrap();
        assert_eq!(f.seconds, 2.0);
        assert_eq!(f.cpu_seconds, Some(1.0));
        assert_eq!(f.ticks, Some(40.0));
        // 20 ticks × 10 clients + 20 ticks × (10 + 30) / 2 clients.
        assert_eq!(f.client_ticks, Some(600.0));
        assert!((f.tick_seconds.unwrap() - 0.04).abs() < 1e-12);
    }
}
