// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! OpenMetrics text (what `/metrics` serves) to OTLP metric messages: the exporter encodes
//! the very registry the Prometheus endpoint serves and maps each family, so both outputs
//! carry the same names, labels and values. Counters become cumulative monotonic Sums
//! (named as scraped, with `_total`), gauges (and info, unknown) Gauges, histograms
//! Histograms with explicit bounds (OpenTelemetry metrics data model, "Sums",
//! "Gauge", "Histogram"; Prometheus compatibility spec).

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum,
    metric, number_data_point,
};

/// Times stamped on every data point, in ns since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamps {
    /// When the tracer started counting (start of every cumulative series).
    pub start_ns: u64,
    /// When this snapshot was taken.
    pub now_ns: u64,
}

/// A sample's labels, in the order of the text.
type Labels = Vec<(String, String)>;

/// One family being collected from the text.
#[derive(Debug, Default)]
struct FamilyText {
    name: String,
    kind: String,
    help: String,
    unit: String,
    /// Counter and gauge points: sample name, labels, value.
    numbers: Vec<(String, Labels, f64)>,
    /// Histogram series: labels without `le`, cumulative buckets `(le, count)`, sum, count.
    histograms: Vec<HistogramText>,
}

#[derive(Debug, Default)]
struct HistogramText {
    labels: Labels,
    buckets: Vec<(f64, u64)>,
    sum: f64,
    count: u64,
}

/// Maps the OpenMetrics text `text` to OTLP metrics; lines it cannot read are skipped.
pub(crate) fn metrics_from_openmetrics(text: &str, stamps: Stamps) -> Vec<Metric> {
    let mut out = Vec::new();
    let mut family = FamilyText::default();
    for line in text.lines() {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (Some(keyword), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            let rest = parts.next().unwrap_or("");
            if keyword == "EOF" || name != family.name {
                out.extend(family.into_metric(stamps));
                family = FamilyText {
                    name: name.to_owned(),
                    ..FamilyText::default()
                };
            }
            match keyword {
                "TYPE" => family.kind = rest.to_owned(),
                "HELP" => family.help = rest.to_owned(),
                "UNIT" => family.unit = rest.to_owned(),
                _ => {}
            }
        } else if let Some((name, labels, value)) = parse_sample(line) {
            family.add_sample(name, labels, value);
        }
    }
    out.extend(family.into_metric(stamps));
    out
}

/// Splits `name{a="b",…} value [# exemplar]` into its parts, unescaping label values.
fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            if let Some(r) = body.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = body.find('=')?;
            let key = body[..eq].to_owned();
            let (value, after) = quoted(body[eq + 1..].strip_prefix('"')?)?;
            labels.push((key, value));
            body = after.strip_prefix(',').unwrap_or(after);
        }
    }
    let value = rest.split_whitespace().next()?;
    Some((name, labels, parse_value(value)?))
}

/// The unescaped text up to the closing quote of `s`, and what follows that quote.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            '"' => return Some((value, &s[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

impl FamilyText {
    fn add_sample(&mut self, name: &str, mut labels: Labels, value: f64) {
        if self.kind == "histogram" {
            let le = labels
                .iter()
                .position(|(k, _)| k == "le")
                .map(|i| labels.remove(i).1);
            let series = match self.histograms.iter().position(|h| h.labels == labels) {
                Some(i) => &mut self.histograms[i],
                None => {
                    self.histograms.push(HistogramText {
                        labels,
                        ..HistogramText::default()
                    });
                    self.histograms.last_mut().expect("just pushed")
                }
            };
            if name.ends_with("_bucket") {
                if let Some(le) = le.as_deref().and_then(parse_value) {
                    series.buckets.push((le, value as u64));
                }
            } else if name.ends_with("_sum") {
                series.sum = value;
            } else if name.ends_with("_count") {
                series.count = value as u64;
            }
        } else if !name.ends_with("_created") {
            self.numbers.push((name.to_owned(), labels, value));
        }
    }

    /// The OTLP metrics of this family: one per sample name (counters keep `_total`).
    fn into_metric(self, stamps: Stamps) -> Vec<Metric> {
        let unit = match self.unit.as_str() {
            "seconds" => "s".to_owned(),
            "bytes" => "By".to_owned(),
            other => other.to_owned(),
        };
        let metric = |name: String, data| Metric {
            name,
            description: self.help.clone(),
            unit: unit.clone(),
            data: Some(data),
            ..Metric::default()
        };
        match self.kind.as_str() {
            "histogram" => {
                if self.histograms.is_empty() {
                    return Vec::new();
                }
                let data_points = self
                    .histograms
                    .iter()
                    .map(|h| histogram_point(h, stamps))
                    .collect();
                vec![metric(
                    self.name.clone(),
                    metric::Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    }),
                )]
            }
            "counter" | "gauge" | "info" | "unknown" => {
                let counter = self.kind == "counter";
                let mut names: Vec<&str> = self.numbers.iter().map(|n| n.0.as_str()).collect();
                names.dedup();
                names
                    .into_iter()
                    .map(|name| {
                        let data_points = self
                            .numbers
                            .iter()
                            .filter(|n| n.0 == name)
                            .map(|(_, labels, value)| number_point(labels, *value, stamps))
                            .collect();
                        let data = if counter {
                            metric::Data::Sum(Sum {
                                data_points,
                                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                                is_monotonic: true,
                            })
                        } else {
                            metric::Data::Gauge(Gauge { data_points })
                        };
                        metric(name.to_owned(), data)
                    })
                    .collect()
            }
            // Summaries, state sets: none in this registry.
            _ => Vec::new(),
        }
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.clone())),
            }),
            ..KeyValue::default()
        })
        .collect()
}

fn number_point(labels: &[(String, String)], value: f64, stamps: Stamps) -> NumberDataPoint {
    // Integral counts stay integers on the wire.
    let value = if value.fract() == 0.0 && value.abs() < 9.0e15 {
        number_data_point::Value::AsInt(value as i64)
    } else {
        number_data_point::Value::AsDouble(value)
    };
    NumberDataPoint {
        attributes: attributes(labels),
        start_time_unix_nano: stamps.start_ns,
        time_unix_nano: stamps.now_ns,
        value: Some(value),
        ..NumberDataPoint::default()
    }
}

/// Cumulative `le` buckets to OTLP's per-bucket counts; the `+Inf` bound is implicit.
fn histogram_point(h: &HistogramText, stamps: Stamps) -> HistogramDataPoint {
    let mut buckets = h.buckets.clone();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut explicit_bounds = Vec::with_capacity(buckets.len());
    let mut bucket_counts = Vec::with_capacity(buckets.len() + 1);
    let mut below = 0u64;
    for (le, cumulative) in &buckets {
        if le.is_finite() {
            explicit_bounds.push(*le);
        }
        bucket_counts.push(cumulative.saturating_sub(below));
        below = (*cumulative).max(below);
    }
    if buckets.last().is_none_or(|(le, _)| le.is_finite()) {
        bucket_counts.push(h.count.saturating_sub(below));
    }
    HistogramDataPoint {
        attributes: attributes(&h.labels),
        start_time_unix_nano: stamps.start_ns,
        time_unix_nano: stamps.now_ns,
        count: h.count,
        sum: Some(h.sum),
        bucket_counts,
        explicit_bounds,
        ..HistogramDataPoint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMPS: Stamps = Stamps {
        start_ns: 1,
        now_ns: 2,
    };

    /// Written by hand after OpenMetrics 1.0 ("Text format", counters, histograms, escapes).
    const TEXT: &str = concat!(
        "# HELP rtp2_packets RTP packets pushed on the pad.\n",
        "# TYPE rtp2_packets counter\n",
        "rtp2_packets_total{pipeline=\"p\",element=\"a \\\"b\\\" \\\\c\",ssrc=\"7\"} 42\n",
        "rtp2_packets_total{pipeline=\"p\",element=\"d\",ssrc=\"8\"} 3 # {trace=\"x\"} 1.0\n",
        "# HELP rtp2_latency_seconds Latency.\n",
        "# TYPE rtp2_latency_seconds histogram\n",
        "# UNIT rtp2_latency_seconds seconds\n",
        "rtp2_latency_seconds_sum{element=\"e\"} 0.5\n",
        "rtp2_latency_seconds_count{element=\"e\"} 10\n",
        "rtp2_latency_seconds_bucket{le=\"0.001\",element=\"e\"} 2\n",
        "rtp2_latency_seconds_bucket{element=\"e\",le=\"0.01\"} 7\n",
        "rtp2_latency_seconds_bucket{element=\"e\",le=\"+Inf\"} 10\n",
        "not a sample line\n",
        "# HELP rtp2_tracked_streams Streams.\n",
        "# TYPE rtp2_tracked_streams gauge\n",
        "rtp2_tracked_streams 2.5\n",
        "# EOF\n",
    );

    fn attrs(labels: &[KeyValue]) -> Vec<(String, String)> {
        labels
            .iter()
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => (kv.key.clone(), s.clone()),
                    other => panic!("{other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn counters_become_cumulative_monotonic_sums_named_as_scraped() {
        let metrics = metrics_from_openmetrics(TEXT, STAMPS);
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rtp2_packets_total",
                "rtp2_latency_seconds",
                "rtp2_tracked_streams"
            ]
        );
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!("{:?}", metrics[0]);
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(sum.data_points.len(), 2);
        let first = &sum.data_points[0];
        assert_eq!(first.value, Some(number_data_point::Value::AsInt(42)));
        assert_eq!((first.start_time_unix_nano, first.time_unix_nano), (1, 2));
        assert_eq!(
            attrs(&first.attributes),
            [
                ("pipeline".into(), "p".into()),
                ("element".into(), "a \"b\" \\c".into()),
                ("ssrc".into(), "7".into())
            ]
        );
        assert_eq!(
            sum.data_points[1].value,
            Some(number_data_point::Value::AsInt(3))
        );
        assert_eq!(metrics[0].description, "RTP packets pushed on the pad.");
    }

    #[test]
    fn histograms_get_per_bucket_counts_and_finite_bounds() {
        let metrics = metrics_from_openmetrics(TEXT, STAMPS);
        assert_eq!(metrics[1].unit, "s");
        let Some(metric::Data::Histogram(h)) = &metrics[1].data else {
            panic!("{:?}", metrics[1]);
        };
        let [point] = h.data_points.as_slice() else {
            panic!("{h:?}");
        };
        assert_eq!(attrs(&point.attributes), [("element".into(), "e".into())]);
        assert_eq!(point.explicit_bounds, [0.001, 0.01]);
        assert_eq!(point.bucket_counts, [2, 5, 3]);
        assert_eq!((point.count, point.sum), (10, Some(0.5)));
    }

    #[test]
    fn gauges_keep_fractions() {
        let metrics = metrics_from_openmetrics(TEXT, STAMPS);
        let Some(metric::Data::Gauge(g)) = &metrics[2].data else {
            panic!("{:?}", metrics[2]);
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(2.5))
        );
        assert!(g.data_points[0].attributes.is_empty());
    }
}
