//! Reading the server's `/metrics` during a bot run: process CPU, ticks and clients.

use std::collections::BTreeMap;
use std::time::Instant;

/// The figures of one `/metrics` scrape that the report needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sample {
    /// `process_cpu_seconds_total`.
    pub(crate) cpu_seconds: Option<f64>,
    /// `process_resident_memory_bytes`.
    pub(crate) rss_bytes: Option<f64>,
    /// The run's spaces that the server reports, by id.
    pub(crate) spaces: BTreeMap<String, SpaceSample>,
}

/// The figures of one space in a scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpaceSample {
    /// Ticks: the largest `plaza_tick_duration_seconds_count` over its regions.
    pub(crate) ticks: f64,
    /// Seconds spent ticking, summed over its regions.
    pub(crate) tick_seconds: f64,
    /// `plaza_clients{space}`.
    pub(crate) clients: f64,
    /// `plaza_bytes_out_total{space}`.
    pub(crate) bytes_out: f64,
}

/// Parses the Prometheus/OpenMetrics text for the figures of `spaces`.
pub(crate) fn parse(text: &str, spaces: &[String]) -> Sample {
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
        match name {
            "process_cpu_seconds_total" => sample.cpu_seconds = Some(value),
            "process_resident_memory_bytes" => sample.rss_bytes = Some(value),
            _ => {}
        }
        let space = labels
            .split(',')
            .find_map(|l| l.strip_prefix("space=\"")?.strip_suffix('"'))
            .filter(|id| spaces.iter().any(|s| s == id));
        let Some(space) = space else {
            continue;
        };
        let entry = sample.spaces.entry(space.to_owned()).or_default();
        match name {
            "plaza_tick_duration_seconds_count" => entry.ticks = entry.ticks.max(value),
            "plaza_tick_duration_seconds_sum" => entry.tick_seconds += value,
            "plaza_clients" => entry.clients += value,
            "plaza_bytes_out_total" => entry.bytes_out += value,
            _ => {}
        }
    }
    sample
}

/// Scrapes `{base}/metrics` for the figures of `spaces`.
pub(crate) async fn scrape(
    http: &reqwest::Client,
    base: &str,
    spaces: &[String],
) -> Result<(Instant, Sample), reqwest::Error> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok((Instant::now(), parse(&text, spaces)))
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
        if let Some((_, prev)) = &self.last {
            for (id, now) in &sample.spaces {
                if let Some(before) = prev.spaces.get(id) {
                    let ticks = (now.ticks - before.ticks).max(0.0);
                    self.client_ticks += ticks * (before.clients + now.clients) / 2.0;
                }
            }
        }
        if self.first.is_none() {
            self.first = Some((at, sample.clone()));
        }
        self.last = Some((at, sample));
    }

    /// Differences between the first and the last scrape (space figures summed over the
    /// spaces in both; `None` when there is none).
    pub(crate) fn figures(&self) -> Option<WindowFigures> {
        let ((t0, a), (t1, b)) = (self.first.as_ref()?, self.last.as_ref()?);
        let diff = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
        let both: Vec<(&SpaceSample, &SpaceSample)> = b
            .spaces
            .iter()
            .filter_map(|(id, after)| Some((a.spaces.get(id)?, after)))
            .collect();
        let sum = |f: fn(&SpaceSample) -> f64| {
            (!both.is_empty()).then(|| both.iter().map(|(x, y)| f(y) - f(x)).sum::<f64>())
        };
        let ticks = sum(|s| s.ticks);
        Some(WindowFigures {
            seconds: t1.duration_since(*t0).as_secs_f64(),
            cpu_seconds: diff(a.cpu_seconds, b.cpu_seconds),
            client_ticks: ticks.map(|_| self.client_ticks),
            ticks,
            tick_seconds: sum(|s| s.tick_seconds),
            bytes_out: sum(|s| s.bytes_out),
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
    fn parses_the_figures_of_the_runs_spaces() {
        let s = parse(TEXT, &["abc".into()]);
        assert_eq!(s.cpu_seconds, Some(12.5));
        assert_eq!(s.rss_bytes, Some(1048576.0));
        let abc = &s.spaces["abc"];
        assert_eq!(abc.ticks, 300.0);
        assert_eq!(abc.tick_seconds, 0.75);
        assert_eq!(abc.clients, 20.0);
        assert_eq!(abc.bytes_out, 4096.0);
        assert_eq!(s.spaces.len(), 1, "abcd and other are not the run's");
        let none = parse(TEXT, &["zzz".into()]);
        assert!(none.spaces.is_empty());
        assert_eq!(none.cpu_seconds, Some(12.5));
        let two = parse(TEXT, &["abc".into(), "other".into()]);
        assert_eq!(two.spaces["other"].ticks, 999.0);
    }

    #[test]
    fn window_integrates_clients_times_ticks_per_space() {
        let t = Instant::now();
        let space = |ticks: f64, clients| SpaceSample {
            ticks,
            tick_seconds: ticks / 1000.0,
            clients,
            bytes_out: 0.0,
        };
        let sample = |cpu, spaces: &[(&str, SpaceSample)]| Sample {
            cpu_seconds: Some(cpu),
            rss_bytes: None,
            spaces: spaces
                .iter()
                .map(|(id, s)| ((*id).to_owned(), s.clone()))
                .collect(),
        };
        let mut w = Window::default();
        w.push(
            t,
            sample(1.0, &[("a", space(100.0, 10.0)), ("b", space(7.0, 5.0))]),
        );
        w.push(
            t + Duration::from_secs(1),
            sample(1.5, &[("a", space(120.0, 10.0)), ("b", space(27.0, 5.0))]),
        );
        w.push(
            t + Duration::from_secs(2),
            sample(2.0, &[("a", space(140.0, 30.0)), ("b", space(47.0, 5.0))]),
        );
        let f = w.figures().unwrap();
        assert_eq!(f.seconds, 2.0);
        assert_eq!(f.cpu_seconds, Some(1.0));
        assert_eq!(f.ticks, Some(80.0), "40 ticks of each space");
        // a: 20 ticks × 10 clients + 20 ticks × (10 + 30) / 2; b: 40 ticks × 5.
        assert_eq!(f.client_ticks, Some(600.0 + 200.0));
        assert!((f.tick_seconds.unwrap() - 0.08).abs() < 1e-12);
    }
}
