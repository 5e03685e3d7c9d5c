//! The server's own view, from its `/metrics` (read with the scraper's bearer token) before
//! and after the run: per route, how many requests it answered and how long they took inside
//! it. Set beside what the booths measured, the difference is time spent outside the handler:
//! waiting to be accepted (the connection cap), in the kernel, or in loadgen itself.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header;
use serde::Serialize;
use sync_protocol::paths;

use crate::api::Api;
use crate::target::Target;

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("cannot read the server's /metrics")]
    Request(#[source] reqwest::Error),
    #[error("the server's /metrics answered {0}: is the metrics token the server's?")]
    Status(u16),
}

/// Requests answered and seconds spent, per `(route, method)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters(BTreeMap<(String, String), (f64, f64)>);

/// One route as the server saw it during the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteFigures {
    pub route: String,
    pub method: String,
    pub requests: u64,
    pub mean_ms: f64,
}

/// Reads the counters of every instance now, summed: the fleet's server as a whole.
pub async fn read_all(api: &Api, token: &str) -> Result<Counters, ScrapeError> {
    let mut total = Counters::default();
    for target in api.targets() {
        total.add(&read(api, target, token).await?);
    }
    Ok(total)
}

/// Reads one instance's counters now.
pub async fn read(api: &Api, target: &Target, token: &str) -> Result<Counters, ScrapeError> {
    let response = api
        .http()
        .get(target.url(paths::METRICS, &[]))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(ScrapeError::Request)?;
    if !response.status().is_success() {
        return Err(ScrapeError::Status(response.status().as_u16()));
    }
    let text = response.text().await.map_err(ScrapeError::Request)?;
    Ok(parse(&text))
}

/// The `sync_http_request_duration_seconds` sums and counts of a Prometheus text.
pub fn parse(text: &str) -> Counters {
    let mut counters = BTreeMap::new();
    for line in text.lines() {
        let (is_sum, rest) = if let Some(rest) =
            line.strip_prefix("sync_http_request_duration_seconds_sum{")
        {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("sync_http_request_duration_seconds_count{") {
            (false, rest)
        } else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let (Some(route), Some(method), Ok(value)) = (
            label(labels, "route"),
            label(labels, "method"),
            value.trim().parse::<f64>(),
        ) else {
            continue;
        };
        let entry: &mut (f64, f64) = counters.entry((route, method)).or_default();
        if is_sum {
            entry.1 = value;
        } else {
            entry.0 = value;
        }
    }
    Counters(counters)
}

/// The value of `name="…"` in a label set (route templates hold no quotes).
fn label(labels: &str, name: &str) -> Option<String> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let end = labels[start..].find('"')? + start;
    Some(labels[start..end].to_owned())
}

impl Counters {
    /// Adds another instance's counters to these.
    pub fn add(&mut self, other: &Counters) {
        for (key, (count, sum)) in &other.0 {
            let entry = self.0.entry(key.clone()).or_default();
            entry.0 += count;
            entry.1 += sum;
        }
    }

    /// What happened between `self` (before) and `after`, busiest route first.
    pub fn since(&self, after: &Counters) -> Vec<RouteFigures> {
        let mut figures: Vec<RouteFigures> = after
            .0
            .iter()
            .filter_map(|(key, (count, sum))| {
                let (count_before, sum_before) = self.0.get(key).copied().unwrap_or_default();
                let requests = (count - count_before).max(0.0);
                (requests > 0.0).then(|| RouteFigures {
                    route: key.0.clone(),
                    method: key.1.clone(),
                    requests: requests as u64,
                    mean_ms: (sum - sum_before) / requests * 1e3,
                })
            })
            .collect();
        figures.sort_by_key(|figure| std::cmp::Reverse(figure.requests));
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_counters_are_read_and_differenced() {
        let before = parse(
            "sync_http_request_duration_seconds_sum{route=\"/api/v1/heartbeat\",method=\"POST\"} 1\n\
             sync_http_request_duration_seconds_count{route=\"/api/v1/heartbeat\",method=\"POST\"} 100\n",
        );
        let after = parse(
            "# HELP sync_http_request_duration_seconds Time to answer, by route.\n\
             sync_http_request_duration_seconds_bucket{route=\"/api/v1/heartbeat\",method=\"POST\",le=\"0.005\"} 290\n\
             sync_http_request_duration_seconds_sum{route=\"/api/v1/heartbeat\",method=\"POST\"} 1.6\n\
             sync_http_request_duration_seconds_count{route=\"/api/v1/heartbeat\",method=\"POST\"} 300\n\
             sync_http_request_duration_seconds_sum{route=\"/api/v1/feeds/{feed}\",method=\"GET\"} 0.9\n\
             sync_http_request_duration_seconds_count{route=\"/api/v1/feeds/{feed}\",method=\"GET\"} 600\n",
        );
        let figures = before.since(&after);
        assert_eq!(figures.len(), 2);
        assert_eq!(figures[0].route, "/api/v1/feeds/{feed}");
        assert_eq!(figures[0].requests, 600);
        assert!((figures[0].mean_ms - 1.5).abs() < 1e-9);
        assert_eq!(figures[1].requests, 200);
        assert!((figures[1].mean_ms - 3.0).abs() < 1e-9);
    }
}
