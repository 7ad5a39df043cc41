//! The live load `plaza capacity` plans from: a load report file or the nodes'
//! `GET /api/admin/regions`.

use std::time::Duration;

use futures_util::future::try_join_all;

use crate::load::{NodeLoad, RegionLoad};

/// How long one node may take to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of an error body quoted in [`InputError::Status`].
const BODY_QUOTE: usize = 200;

/// Errors while reading the live load.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The report is not JSON of one of the accepted shapes.
    #[error("invalid load report: {0}")]
    Parse(serde_json::Error),
    /// The report holds no region.
    #[error("the load report holds no region")]
    Empty,
    /// A region has a negative or non-finite figure.
    #[error("region {region}: {field} must be a finite number >= 0")]
    InvalidRegion {
        /// Region id.
        region: String,
        /// The bad field.
        field: &'static str,
    },
    /// No HTTP client could be set up.
    #[error("cannot set up an HTTP client: {0}")]
    Client(reqwest::Error),
    /// A node could not be reached.
    #[error("cannot fetch {url}: {source}")]
    Request {
        /// The URL asked.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// A node answered with an error status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The start of the answer's body.
        body: String,
    },
    /// A node's answer is not a `NodeLoad`.
    #[error("{url} answered something that is not a node's load: {source}")]
    Decode {
        /// The URL asked.
        url: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// Parses a load report: one [`NodeLoad`] (`{"node", "regions"}`), a JSON array of them (a
/// whole cluster), or `{"nodes": [...]}`.
pub fn parse_load_report(json: &str) -> Result<Vec<NodeLoad>, InputError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(InputError::Parse)?;
    let nodes = match value {
        serde_json::Value::Array(_) => serde_json::from_value(value),
        serde_json::Value::Object(mut map) if map.contains_key("nodes") => {
            serde_json::from_value(map.remove("nodes").unwrap_or_default())
        }
        other => serde_json::from_value(other).map(|node| vec![node]),
    };
    nodes.map_err(InputError::Parse)
}

/// Fetches `GET {url}/api/admin/regions` from each node (concurrently, bearer `token`).
pub async fn fetch_cluster(urls: &[String], token: &str) -> Result<Vec<NodeLoad>, InputError> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(InputError::Client)?;
    try_join_all(urls.iter().map(|base| fetch_node(&client, base, token))).await
}

async fn fetch_node(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Result<NodeLoad, InputError> {
    let url = format!("{}/api/admin/regions", base.trim_end_matches('/'));
    let request_error = |source| InputError::Request {
        url: url.clone(),
        source,
    };
    let response = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(request_error)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(request_error)?;
    if !status.is_success() {
        let body = String::from_utf8_lossy(&bytes)
            .chars()
            .take(BODY_QUOTE)
            .collect();
        return Err(InputError::Status { url, status, body });
    }
    serde_json::from_slice(&bytes).map_err(|source| InputError::Decode { url, source })
}

/// All regions of `nodes`, checked, sorted by id, one per id: when two nodes report the same
/// region (it moved during the fetch) the higher lease epoch wins, then the later node id.
/// Returns the regions and the ids reported twice.
pub fn collect_regions(nodes: &[NodeLoad]) -> Result<(Vec<RegionLoad>, Vec<String>), InputError> {
    let mut regions: Vec<&RegionLoad> = nodes.iter().flat_map(|n| &n.regions).collect();
    if regions.is_empty() {
        return Err(InputError::Empty);
    }
    for r in &regions {
        check_region(r)?;
    }
    regions.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then_with(|| b.epoch.cmp(&a.epoch))
            .then_with(|| b.node.cmp(&a.node))
    });
    let mut out: Vec<RegionLoad> = Vec::with_capacity(regions.len());
    let mut duplicates = Vec::new();
    for r in regions {
        match out.last() {
            Some(kept) if kept.id == r.id => {
                if duplicates.last() != Some(&r.id) {
                    duplicates.push(r.id.clone());
                }
            }
            _ => out.push(r.clone()),
        }
    }
    Ok((out, duplicates))
}

/// Rejects negative or non-finite figures.
fn check_region(r: &RegionLoad) -> Result<(), InputError> {
    let fields = [
        ("tick_ms_p50", r.tick_ms_p50),
        ("tick_ms_p99", r.tick_ms_p99),
        ("mean_visible", r.mean_visible),
        ("bytes_out_per_s", r.bytes_out_per_s),
        ("handoffs_per_s", r.handoffs_per_s),
        ("ticks_per_s", r.ticks_per_s),
    ];
    match fields.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
        Some(&(field, _)) => Err(InputError::InvalidRegion {
            region: r.id.clone(),
            field,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = r#"{"id": "s:0:0", "space": "s", "col": 0, "row": 0, "node": "a",
        "epoch": 1, "entities": 10, "clients": 5, "tick_ms_p50": 0.5, "tick_ms_p99": 0.9,
        "bytes_out_per_s": 100.0, "mean_visible": 4.0, "handoffs_per_s": 0.0,
        "ticks_per_s": 20.0}"#;

    #[test]
    fn accepts_the_three_report_shapes() {
        let one = format!(r#"{{"node": "a", "regions": [{REGION}]}}"#);
        let array = format!("[{one}, {{\"node\": \"b\", \"regions\": []}}]");
        let wrapped = format!("{{\"nodes\": {array}}}");
        assert_eq!(parse_load_report(&one).unwrap().len(), 1);
        let nodes = parse_load_report(&array).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].regions[0].entities, 10);
        assert_eq!(parse_load_report(&wrapped).unwrap(), nodes);
        for bad in ["", "42", "{\"node\": \"a\"}", "{\"nodes\": 3}", "[1]"] {
            assert!(
                matches!(parse_load_report(bad), Err(InputError::Parse(_))),
                "{bad:?}"
            );
        }
    }

    fn region(id: &str, node: &str, epoch: u64) -> RegionLoad {
        let mut r: RegionLoad = serde_json::from_str(REGION).unwrap();
        r.id = id.into();
        r.node = node.into();
        r.epoch = epoch;
        r
    }

    #[test]
    fn collects_sorted_unique_regions() {
        let nodes = vec![
            NodeLoad {
                node: "a".into(),
                regions: vec![region("s:1:0", "a", 3), region("s:0:0", "a", 1)],
            },
            NodeLoad {
                node: "b".into(),
                regions: vec![region("s:1:0", "b", 4)],
            },
        ];
        let (regions, duplicates) = collect_regions(&nodes).unwrap();
        let ids: Vec<(&str, &str)> = regions
            .iter()
            .map(|r| (r.id.as_str(), r.node.as_str()))
            .collect();
        assert_eq!(ids, [("s:0:0", "a"), ("s:1:0", "b")], "higher epoch wins");
        assert_eq!(duplicates, ["s:1:0"]);
    }

    #[test]
    fn empty_and_invalid_reports_are_errors() {
        let empty = vec![NodeLoad {
            node: "a".into(),
            regions: vec![],
        }];
        assert!(matches!(collect_regions(&empty), Err(InputError::Empty)));
        assert!(matches!(collect_regions(&[]), Err(InputError::Empty)));
        let mut bad = region("s:0:0", "a", 1);
        bad.tick_ms_p50 = -2.0;
        let nodes = vec![NodeLoad {
            node: "a".into(),
            regions: vec![bad],
        }];
        assert!(matches!(
            collect_regions(&nodes),
            Err(InputError::InvalidRegion {
                field: "tick_ms_p50",
                ..
            })
        ));
    }
}
