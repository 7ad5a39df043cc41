//! [`RegionKey`] (`space:col:row`) and [`Keys`], the names of every Redis key and bus channel.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sim::RegionId;

/// The longest space id.
const MAX_SPACE_LEN: usize = 32;

/// A region of a space, written and parsed as `space:col:row` (space ids are `[0-9a-z]{1,32}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegionKey {
    /// The space id.
    pub space: String,
    /// The region within the space.
    pub region: RegionId,
}

impl RegionKey {
    /// The region `region` of `space`.
    pub fn new(space: impl Into<String>, region: RegionId) -> RegionKey {
        RegionKey {
            space: space.into(),
            region,
        }
    }
}

impl fmt::Display for RegionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.space, self.region.col, self.region.row)
    }
}

/// Why a string is not a `space:col:row` region key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseRegionKeyError {
    /// Not three `:`-separated parts.
    #[error("region key {0:?} is not of the form space:col:row")]
    Shape(String),
    /// The space id is empty, too long or has characters outside `[0-9a-z]`.
    #[error("region key {0:?}: the space id must be 1 to 32 characters of [0-9a-z]")]
    Space(String),
    /// Column or row is not a number in 0..=65535.
    #[error("region key {0:?}: column and row must be numbers from 0 to 65535")]
    Coordinate(String),
}

impl FromStr for RegionKey {
    type Err = ParseRegionKeyError;

    fn from_str(s: &str) -> Result<RegionKey, ParseRegionKeyError> {
        let mut parts = s.split(':');
        let (Some(space), Some(col), Some(row), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseRegionKeyError::Shape(s.to_owned()));
        };
        if !is_space_id(space) {
            return Err(ParseRegionKeyError::Space(s.to_owned()));
        }
        // `u16::from_str` accepts a leading `+`; only plain digits round-trip.
        let coordinate = |part: &str| {
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse::<u16>().ok())
                .flatten()
                .ok_or_else(|| ParseRegionKeyError::Coordinate(s.to_owned()))
        };
        Ok(RegionKey::new(
            space,
            RegionId {
                col: coordinate(col)?,
                row: coordinate(row)?,
            },
        ))
    }
}

/// Whether `space` is a valid space id (`[0-9a-z]{1,32}`).
fn is_space_id(space: &str) -> bool {
    (1..=MAX_SPACE_LEN).contains(&space.len())
        && space
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Names of every Redis key and bus channel, under one prefix (e.g. `plaza`, or a test's
/// unique prefix so tests can share one Redis).
///
/// Layout (`P` = prefix, `R` = a [`RegionKey`]):
/// channels `P:ch:region:R`, `P:ch:node:N`; keys `P:lease:R`, `P:epoch:R`, `P:alive:N`,
/// `P:nodes`, `P:players:SPACE`, `P:pins`, `P:node-number`, `P:once:ID`, `P:spaces`,
/// `P:handover:R`.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`.
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel for messages to whoever owns `region`.
    pub fn region_channel(&self, region: &RegionKey) -> String {
        format!("{}:ch:region:{region}", self.prefix)
    }

    /// The channel for messages to one node.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:ch:node:{node}", self.prefix)
    }

    /// The lease of `region` (value `node/epoch`, with a TTL).
    pub(crate) fn lease(&self, region: &RegionKey) -> String {
        format!("{}:lease:{region}", self.prefix)
    }

    /// The epoch counter of `region` (only ever incremented).
    pub(crate) fn epoch(&self, region: &RegionKey) -> String {
        format!("{}:epoch:{region}", self.prefix)
    }

    /// A node's heartbeat key (value: its public URL, with a TTL).
    pub(crate) fn alive(&self, node: &str) -> String {
        format!("{}:alive:{node}", self.prefix)
    }

    /// The set of node ids that have registered.
    pub(crate) fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// The hash account → node of one space.
    pub(crate) fn players(&self, space: &str) -> String {
        format!("{}:players:{space}", self.prefix)
    }

    /// The set of spaces in use.
    pub(crate) fn spaces(&self) -> String {
        format!("{}:spaces", self.prefix)
    }

    /// The node a region is being moved to.
    pub(crate) fn handover(&self, region: &RegionKey) -> String {
        format!("{}:handover:{region}", self.prefix)
    }

    /// The hash `col:row` → pinned node.
    pub(crate) fn pins(&self) -> String {
        format!("{}:pins", self.prefix)
    }

    /// The counter behind node numbers.
    pub(crate) fn node_number(&self) -> String {
        format!("{}:node-number", self.prefix)
    }

    /// A single-use token.
    pub(crate) fn once(&self, id: &str) -> String {
        format!("{}:once:{id}", self.prefix)
    }

    /// A `SCAN MATCH` pattern for every key under the prefix (glob characters escaped).
    pub(crate) fn scan_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 3);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":*");
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_key_round_trips() {
        for text in [
            "office:0:0",
            "a:65535:7",
            "0123456789abcdefghijklmnopqrstuv:3:12",
        ] {
            let key: RegionKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        let key = RegionKey::new("campus", RegionId { col: 2, row: 5 });
        assert_eq!(key.to_string().parse::<RegionKey>(), Ok(key));
    }

    #[test]
    fn region_key_rejects_bad_input() {
        use ParseRegionKeyError::*;
        type Expected = fn(String) -> ParseRegionKeyError;
        let cases: [(&str, Expected); 12] = [
            ("", Shape),
            ("office", Shape),
            ("office:1", Shape),
            ("office:1:2:3", Shape),
            (":1:2", Space),
            ("Office:1:2", Space),
            ("off-ice:1:2", Space),
            ("0123456789abcdefghijklmnopqrstuvw:1:2", Space),
            ("office:-1:2", Coordinate),
            ("office:1:65536", Coordinate),
            ("office:+1:2", Coordinate),
            ("office:1:", Coordinate),
        ];
        for (text, error) in cases {
            assert_eq!(
                text.parse::<RegionKey>(),
                Err(error(text.to_owned())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn scan_pattern_escapes_globs() {
        assert_eq!(Keys::new("plaza").scan_pattern(), "plaza:*");
        assert_eq!(Keys::new("a*b[c]").scan_pattern(), "a\\*b\\[c\\]:*");
    }

    #[test]
    fn channels_and_keys_are_distinct() {
        let keys = Keys::new("p");
        let region = RegionKey::new("office", RegionId { col: 1, row: 2 });
        assert_eq!(keys.region_channel(&region), "p:ch:region:office:1:2");
        assert_eq!(keys.node_channel("n1"), "p:ch:node:n1");
        assert_ne!(keys.lease(&region), keys.epoch(&region));
    }
}
