//! The cost model: what one region costs per tick, fitted from bench samples and calibrated
//! against a live load report.
//!
//! ```text
//! tick_µs = a · entities + clients · (b + c · mean_visible)
//! ```
//!
//! `a` is the per-entity cost of the sim step and interest update, `b` the fixed cost of one
//! client per tick (its interest query and an empty delta), `c` the cost of one visible entity
//! in a client's delta. The three are fitted by non-negative least squares on the *relative*
//! error over the bench samples ([`CostModel::fit`]); a [`Calibration`] then scales the model
//! to the machine the live report comes from.

use serde::{Deserialize, Serialize};

use crate::load::RegionLoad;

/// Coefficients of the model.
const PARAMS: usize = 3;
/// Smallest pivot of the normalised normal equations accepted as non-singular.
const SINGULAR_PIVOT: f64 = 1e-10;

/// The bench samples a model is fitted from: `benches/tick-samples.json`, written by
/// `make bench`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickSamples {
    /// The machine the samples were measured on (free text).
    pub machine: String,
    /// The tick rate the bench assumed.
    pub tick_hz: u32,
    /// One entry per measured configuration.
    pub samples: Vec<TickSample>,
}

/// One measured server tick (sim step + interest + per-client delta encode).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickSample {
    /// Connected avatars.
    pub clients: u64,
    /// All entities in the world (clients included).
    pub entities: u64,
    /// Mean entities visible per client.
    pub mean_visible: f64,
    /// Time of one tick, in milliseconds.
    pub tick_ms: f64,
}

/// The samples embedded at build time from `benches/tick-samples.json`.
const EMBEDDED_SAMPLES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../benches/tick-samples.json"
));

impl TickSamples {
    /// Parses a samples file.
    pub fn parse(json: &str) -> Result<TickSamples, ModelError> {
        serde_json::from_str(json).map_err(ModelError::Parse)
    }

    /// The samples `plaza` was built with (`benches/tick-samples.json`).
    pub fn embedded() -> Result<TickSamples, ModelError> {
        TickSamples::parse(EMBEDDED_SAMPLES)
    }
}

/// Errors of fitting or calibrating the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The samples file is not valid JSON of the expected shape.
    #[error("invalid tick samples: {0}")]
    Parse(serde_json::Error),
    /// Fewer samples than coefficients.
    #[error("{got} tick samples; at least {need} are needed to fit the cost model")]
    TooFewSamples {
        /// Samples given.
        got: usize,
        /// Samples needed.
        need: usize,
    },
    /// A sample has a negative, zero (`tick_ms`) or non-finite figure.
    #[error("tick sample {index}: {field} must be a finite number {rule}")]
    InvalidSample {
        /// Position of the sample in the file.
        index: usize,
        /// The bad field.
        field: &'static str,
        /// What it must be (`>= 0`, `> 0`).
        rule: &'static str,
    },
    /// The samples cannot tell the coefficients apart.
    #[error(
        "the tick samples cannot separate the per-entity, per-client and per-visible costs \
         (e.g. clients always equal entities, or the density never changes): \
         bench more varied configurations"
    )]
    Singular,
}

/// A fitted cost model, in microseconds per tick.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CostModel {
    /// `a`: µs per entity per tick.
    pub us_per_entity: f64,
    /// `b`: µs per client per tick.
    pub us_per_client: f64,
    /// `c`: µs per visible entity per client per tick.
    pub us_per_visible: f64,
    /// Samples the model was fitted from.
    pub samples: usize,
    /// Root mean square of the fit's relative errors (0.1 = 10 %).
    pub rms_relative_error: f64,
    /// The largest relative error of the fit on one sample.
    pub max_relative_error: f64,
}

impl CostModel {
    /// Fits the model to `samples` by least squares on the relative error, with
    /// non-negative coefficients.
    ///
    /// Relative, because the samples span orders of magnitude (100 to 10k clients) while the
    /// regions of a live report are mostly small: plain least squares would fit the largest
    /// samples and miss the small ones by a factor. Three coefficients make exact
    /// non-negative least squares cheap: the solution is the unconstrained least-squares fit
    /// on one subset of the coefficients (the others zero), so every subset is solved and
    /// the best one with no negative coefficient wins.
    pub fn fit(samples: &[TickSample]) -> Result<CostModel, ModelError> {
        if samples.len() < PARAMS {
            return Err(ModelError::TooFewSamples {
                got: samples.len(),
                need: PARAMS,
            });
        }
        for (index, s) in samples.iter().enumerate() {
            check_sample(index, s)?;
        }
        let rows = design(samples);
        let normal = Normal::new(&rows);
        if normal.solve(&[0, 1, 2]).is_none() {
            return Err(ModelError::Singular);
        }
        let mut best = ([0.0; PARAMS], sse(&rows, &[0.0; PARAMS]));
        for mask in 1..(1u8 << PARAMS) {
            let subset: Vec<usize> = (0..PARAMS).filter(|&i| mask & (1 << i) != 0).collect();
            let Some(coef) = normal.solve(&subset) else {
                continue;
            };
            if coef.iter().any(|&c| c < 0.0) {
                continue;
            }
            let err = sse(&rows, &coef);
            if err < best.1 {
                best = (coef, err);
            }
        }
        let ([a, b, c], err) = best;
        Ok(CostModel {
            us_per_entity: a,
            us_per_client: b,
            us_per_visible: c,
            samples: samples.len(),
            rms_relative_error: (err / samples.len() as f64).sqrt(),
            max_relative_error: rows
                .iter()
                .map(|(x, y)| (y - dot(x, &[a, b, c])).abs())
                .fold(0.0, f64::max),
        })
    }

    /// Predicted time per tick, in milliseconds, of `entities` entities and `clients`
    /// clients who each see `mean_visible` entities.
    pub fn predict_ms(&self, entities: u64, clients: u64, mean_visible: f64) -> f64 {
        let coef = [self.us_per_entity, self.us_per_client, self.us_per_visible];
        dot(&features(entities, clients, mean_visible), &coef) / 1000.0
    }

    /// Predicted time per tick of a region as it was measured, in milliseconds.
    pub fn predict_region_ms(&self, region: &RegionLoad) -> f64 {
        self.predict_ms(region.entities, region.clients, region.mean_visible)
    }
}

/// Rejects negative or non-finite figures, and ticks of no time (a relative error needs
/// a measured time).
fn check_sample(index: usize, s: &TickSample) -> Result<(), ModelError> {
    let invalid = |field, rule| Err(ModelError::InvalidSample { index, field, rule });
    if !s.mean_visible.is_finite() || s.mean_visible < 0.0 {
        return invalid("mean_visible", ">= 0");
    }
    if !s.tick_ms.is_finite() || s.tick_ms <= 0.0 {
        return invalid("tick_ms", "> 0");
    }
    Ok(())
}

/// The model's regressors: entities, clients, visible pairs (clients × mean_visible).
fn features(entities: u64, clients: u64, mean_visible: f64) -> [f64; PARAMS] {
    let clients = clients as f64;
    [entities as f64, clients, clients * mean_visible]
}

/// The regression's rows, weighted for the relative error: (features / tick µs, 1) per
/// sample, so a residual is `1 − predicted / measured`.
fn design(samples: &[TickSample]) -> Vec<([f64; PARAMS], f64)> {
    samples
        .iter()
        .map(|s| {
            let us = s.tick_ms * 1000.0;
            let x = features(s.entities, s.clients, s.mean_visible);
            (x.map(|v| v / us), 1.0)
        })
        .collect()
}

fn dot(x: &[f64; PARAMS], coef: &[f64; PARAMS]) -> f64 {
    x.iter().zip(coef).map(|(x, c)| x * c).sum()
}

/// Sum of squared residuals of `coef` over `rows`.
fn sse(rows: &[([f64; PARAMS], f64)], coef: &[f64; PARAMS]) -> f64 {
    rows.iter().map(|(x, y)| (y - dot(x, coef)).powi(2)).sum()
}

/// Normal equations `XᵀX β = Xᵀy`, with columns scaled to unit norm so the singularity
/// test does not depend on units.
struct Normal {
    /// `XᵀX` of the scaled columns.
    gram: [[f64; PARAMS]; PARAMS],
    /// `Xᵀy` of the scaled columns.
    rhs: [f64; PARAMS],
    /// Norm of each column (0: the column is all zeros).
    scale: [f64; PARAMS],
}

impl Normal {
    fn new(rows: &[([f64; PARAMS], f64)]) -> Normal {
        let mut scale = [0.0; PARAMS];
        for (x, _) in rows {
            for (s, v) in scale.iter_mut().zip(x) {
                *s += v * v;
            }
        }
        let scale = scale.map(f64::sqrt);
        let mut gram = [[0.0; PARAMS]; PARAMS];
        let mut rhs = [0.0; PARAMS];
        for (x, y) in rows {
            let z: [f64; PARAMS] =
                std::array::from_fn(|i| if scale[i] > 0.0 { x[i] / scale[i] } else { 0.0 });
            for i in 0..PARAMS {
                rhs[i] += z[i] * y;
                for j in 0..PARAMS {
                    gram[i][j] += z[i] * z[j];
                }
            }
        }
        Normal { gram, rhs, scale }
    }

    /// Least-squares coefficients (unscaled) with only `subset` free, the others zero;
    /// `None` when that sub-problem is singular. Cholesky on the sub-matrix.
    fn solve(&self, subset: &[usize]) -> Option<[f64; PARAMS]> {
        let n = subset.len();
        let mut l = [[0.0; PARAMS]; PARAMS];
        for i in 0..n {
            for j in 0..=i {
                let sum = self.gram[subset[i]][subset[j]]
                    - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
                if i == j {
                    if sum < SINGULAR_PIVOT {
                        return None;
                    }
                    l[i][i] = sum.sqrt();
                } else {
                    l[i][j] = sum / l[j][j];
                }
            }
        }
        // Forward (L z = rhs) then backward (Lᵀ β = z) substitution.
        let mut z = [0.0; PARAMS];
        for i in 0..n {
            let sum: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
            z[i] = (self.rhs[subset[i]] - sum) / l[i][i];
        }
        let mut beta = [0.0; PARAMS];
        for i in (0..n).rev() {
            let sum: f64 = (i + 1..n).map(|k| l[k][i] * beta[k]).sum();
            beta[i] = (z[i] - sum) / l[i][i];
        }
        let mut coef = [0.0; PARAMS];
        for (i, &p) in subset.iter().enumerate() {
            coef[p] = beta[i] / self.scale[p];
        }
        Some(coef)
    }
}

/// How the model was scaled to the machine of the live report.
///
/// For each region with a measured tick time and a non-zero prediction, the ratio
/// `measured / predicted` says how much slower (or faster) the live machine is than the
/// bench machine. The factor is the *weighted median* of these ratios, each weighted by the
/// region's predicted cost: a median so that one noisy or atypical region does not move it,
/// weighted so that busy regions (whose timings are well above clock resolution) count more
/// than nearly idle ones. Without any usable region the factor is 1 (uncalibrated).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Multiplies every model prediction.
    pub factor: f64,
    /// Regions whose ratio entered the median.
    pub regions_used: usize,
}

impl Calibration {
    /// The calibration of `model` against live `regions`.
    pub fn from_regions(model: &CostModel, regions: &[RegionLoad]) -> Calibration {
        let mut ratios: Vec<(f64, f64, &str)> = regions
            .iter()
            .filter_map(|r| {
                let predicted = model.predict_region_ms(r);
                (predicted > 0.0 && r.tick_ms_p50 > 0.0)
                    .then(|| (r.tick_ms_p50 / predicted, predicted, r.id.as_str()))
            })
            .collect();
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.2.cmp(b.2)));
        let pairs: Vec<(f64, f64)> = ratios.iter().map(|&(r, w, _)| (r, w)).collect();
        Calibration {
            factor: weighted_median(&pairs).unwrap_or(1.0),
            regions_used: pairs.len(),
        }
    }

    /// Whether any region calibrated the model.
    pub fn is_calibrated(&self) -> bool {
        self.regions_used > 0
    }
}

/// The weighted median of `(value, weight)` pairs sorted by value: the first value at which
/// the running weight reaches half the total; when it lands exactly on half, the mean of
/// that value and the next. `None` for no pairs or no weight.
fn weighted_median(sorted: &[(f64, f64)]) -> Option<f64> {
    let total: f64 = sorted.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return None;
    }
    let half = total / 2.0;
    let mut acc = 0.0;
    for (i, &(value, weight)) in sorted.iter().enumerate() {
        acc += weight;
        if acc >= half {
            let on_half = (acc - half).abs() <= 1e-12 * total;
            return Some(match sorted.get(i + 1) {
                Some(&(next, _)) if on_half => (value + next) / 2.0,
                _ => value,
            });
        }
    }
    sorted.last().map(|p| p.0)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn sample(entities: u64, clients: u64, mean_visible: f64, tick_ms: f64) -> TickSample {
        TickSample {
            clients,
            entities,
            mean_visible,
            tick_ms,
        }
    }

    /// Samples of a known model (µs): a = 0.5, b = 2, c = 0.04, over varied configurations.
    fn synthetic(noise: f64) -> Vec<TickSample> {
        let mut out = Vec::new();
        let mut k = 0.0f64;
        for entities in [100u64, 1000, 5000, 10_000] {
            for share in [0.25, 0.5, 1.0] {
                for visible in [10.0, 50.0] {
                    let clients = (entities as f64 * share) as u64;
                    let us = 0.5 * entities as f64 + clients as f64 * (2.0 + 0.04 * visible);
                    // Deterministic ±noise pattern.
                    k += 1.0;
                    let wobble = 1.0 + noise * (k * 2.399).sin();
                    out.push(sample(entities, clients, visible, us * wobble / 1000.0));
                }
            }
        }
        out
    }

    #[test]
    fn fit_recovers_known_coefficients() {
        let m = CostModel::fit(&synthetic(0.0)).unwrap();
        assert!((m.us_per_entity - 0.5).abs() < 1e-9, "{m:?}");
        assert!((m.us_per_client - 2.0).abs() < 1e-9, "{m:?}");
        assert!((m.us_per_visible - 0.04).abs() < 1e-9, "{m:?}");
        assert!(m.rms_relative_error < 1e-9 && m.max_relative_error < 1e-9);
        assert_eq!(m.samples, 24);
        // 1000 entities, 500 clients seeing 20: 500 + 500 × 2.8 = 1900 µs.
        assert!((m.predict_ms(1000, 500, 20.0) - 1.9).abs() < 1e-9);
    }

    #[test]
    fn fit_tolerates_noise() {
        let m = CostModel::fit(&synthetic(0.05)).unwrap();
        assert!((m.us_per_entity - 0.5).abs() < 0.05, "{m:?}");
        assert!((m.us_per_client - 2.0).abs() < 0.4, "{m:?}");
        assert!((m.us_per_visible - 0.04).abs() < 0.01, "{m:?}");
        // ±5 % noise: a fit within about that.
        assert!(
            m.rms_relative_error > 0.0 && m.rms_relative_error < 0.05,
            "{m:?}"
        );
        assert!(m.max_relative_error < 0.1, "{m:?}");
    }

    #[test]
    fn fit_clamps_negative_coefficients_to_zero() {
        // Cost only from entities, with the per-client term pushed negative by the data:
        // unconstrained least squares would give b < 0.
        let samples = vec![
            sample(1000, 0, 0.0, 1.0),
            sample(1000, 500, 10.0, 0.9),
            sample(2000, 1000, 20.0, 1.9),
            sample(4000, 100, 30.0, 4.0),
        ];
        let unconstrained = Normal::new(&design(&samples)).solve(&[0, 1, 2]).unwrap();
        assert!(unconstrained[1] < 0.0, "{unconstrained:?}");
        let m = CostModel::fit(&samples).unwrap();
        assert!(m.us_per_entity >= 0.0 && m.us_per_client >= 0.0 && m.us_per_visible >= 0.0);
        assert_eq!(m.us_per_client, 0.0, "{m:?}");
        assert!(m.us_per_entity > 0.9 && m.us_per_entity < 1.1, "{m:?}");
    }

    #[test]
    fn fit_errors() {
        assert!(matches!(
            CostModel::fit(&synthetic(0.0)[..2]),
            Err(ModelError::TooFewSamples { got: 2, need: 3 })
        ));
        // clients == entities and a constant density: the three columns are proportional.
        let collinear: Vec<_> = [100u64, 1000, 10_000]
            .iter()
            .map(|&n| sample(n, n, 50.0, n as f64 * 0.004))
            .collect();
        assert!(matches!(
            CostModel::fit(&collinear),
            Err(ModelError::Singular)
        ));
        let mut bad = synthetic(0.0);
        bad[4].tick_ms = -1.0;
        assert!(matches!(
            CostModel::fit(&bad),
            Err(ModelError::InvalidSample {
                index: 4,
                field: "tick_ms",
                ..
            })
        ));
        bad[4].tick_ms = 0.0;
        let err = CostModel::fit(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tick sample 4: tick_ms must be a finite number > 0"
        );
    }

    #[test]
    fn samples_file_parses_and_embedded_samples_fit() {
        let s = TickSamples::parse(
            r#"{"machine": "m", "tick_hz": 20, "samples": [
                {"clients": 100, "entities": 100, "mean_visible": 49.3, "tick_ms": 0.42,
                 "series": "extra fields are ignored"}]}"#,
        )
        .unwrap();
        assert_eq!(s.samples[0].clients, 100);
        assert!(matches!(
            TickSamples::parse("{\"machine\": 1}"),
            Err(ModelError::Parse(_))
        ));
        let embedded = TickSamples::embedded().expect("benches/tick-samples.json parses");
        CostModel::fit(&embedded.samples).expect("benches/tick-samples.json fits the model");
    }

    /// A region's load for tests: space `s`, node `n`.
    pub(in crate::capacity) fn region(
        id: &str,
        entities: u64,
        clients: u64,
        visible: f64,
        measured: f64,
    ) -> RegionLoad {
        RegionLoad {
            id: id.into(),
            space: "s".into(),
            col: 0,
            row: 0,
            node: "n".into(),
            epoch: 0,
            entities,
            clients,
            tick_ms_p50: measured,
            tick_ms_p99: measured * 2.0,
            bytes_out_per_s: 0.0,
            mean_visible: visible,
            handoffs_per_s: 0.0,
            ticks_per_s: 20.0,
        }
    }

    #[test]
    fn calibration_is_the_weighted_median_ratio() {
        let m = CostModel {
            us_per_entity: 1.0,
            us_per_client: 0.0,
            us_per_visible: 0.0,
            samples: 3,
            rms_relative_error: 0.0,
            max_relative_error: 0.0,
        };
        // Predicted 1, 2, 4, 1 ms; measured ratios 1.5, 1.4, 1.6 and an outlier of 40 on a
        // light region; an idle region (no measurement) is skipped.
        let regions = vec![
            region("a", 1000, 0, 0.0, 1.5),
            region("b", 2000, 0, 0.0, 2.8),
            region("c", 4000, 0, 0.0, 6.4),
            region("d", 1000, 0, 0.0, 40.0),
            region("e", 0, 0, 0.0, 0.0),
        ];
        let c = Calibration::from_regions(&m, &regions);
        assert_eq!(c.regions_used, 4);
        assert!(c.is_calibrated());
        // Sorted ratios 1.4 (w 2), 1.5 (w 1), 1.6 (w 4), 40 (w 1): half of 8 is reached at 1.6.
        assert!((c.factor - 1.6).abs() < 1e-12, "{c:?}");
        // Shuffled input: same answer.
        let mut shuffled = regions.clone();
        shuffled.reverse();
        assert_eq!(Calibration::from_regions(&m, &shuffled), c);
        // Nothing measured: uncalibrated.
        let none = Calibration::from_regions(&m, &regions[4..]);
        assert_eq!(none.factor, 1.0);
        assert!(!none.is_calibrated());
    }

    #[test]
    fn weighted_median_edges() {
        assert_eq!(weighted_median(&[]), None);
        assert_eq!(weighted_median(&[(3.0, 0.0)]), None);
        assert_eq!(weighted_median(&[(3.0, 1.0)]), Some(3.0));
        // Exactly half on the first value: mean of the two middle values.
        assert_eq!(weighted_median(&[(1.0, 1.0), (3.0, 1.0)]), Some(2.0));
        assert_eq!(weighted_median(&[(1.0, 1.0), (3.0, 3.0)]), Some(3.0));
        assert_eq!(
            weighted_median(&[(1.0, 1.0), (1.1, 1.0), (50.0, 1.0)]),
            Some(1.1)
        );
    }
}
