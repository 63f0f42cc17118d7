//! One metric family at a time: a name, a help text and its samples, handed to
//! `prometheus-client`'s encoder as constant values read at scrape time.
//!
//! Counters are named here by their sample name (`..._total`, what a query or an alert rule
//! uses); OpenMetrics names the family without the suffix, so the encoder gets the stem.

use prometheus_client::{
    encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
};

/// A counter family, named by its sample name (ending in `_total`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Counter {
    stem: &'static str,
    help: &'static str,
}

impl Counter {
    pub(super) fn new(sample_name: &'static str, help: &'static str) -> Self {
        let stem = sample_name.strip_suffix("_total").unwrap_or(sample_name);
        Self { stem, help }
    }

    /// One unlabelled sample.
    pub(super) fn value(self, enc: &mut DescriptorEncoder<'_>, v: u64) -> std::fmt::Result {
        let metric = ConstCounter::new(v);
        metric.encode(enc.encode_descriptor(self.stem, self.help, None, MetricType::Counter)?)
    }

    /// One sample per value of `label`.
    pub(super) fn by<'l>(
        self,
        enc: &mut DescriptorEncoder<'_>,
        label: &'static str,
        samples: impl IntoIterator<Item = (&'l str, u64)>,
    ) -> std::fmt::Result {
        let samples = samples.into_iter().map(|(l, v)| (l, ConstCounter::new(v)));
        labelled(
            enc,
            (self.stem, self.help, MetricType::Counter),
            label,
            samples,
        )
    }
}

/// A family of `kind` named `name` with one sample per value of `label`.
fn labelled<'l, M: EncodeMetric>(
    enc: &mut DescriptorEncoder<'_>,
    (name, help, kind): (&'static str, &'static str, MetricType),
    label: &'static str,
    samples: impl IntoIterator<Item = (&'l str, M)>,
) -> std::fmt::Result {
    let mut family = enc.encode_descriptor(name, help, None, kind)?;
    for (value, metric) in samples {
        metric.encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// A gauge family.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gauge {
    name: &'static str,
    help: &'static str,
}

impl Gauge {
    pub(super) fn new(name: &'static str, help: &'static str) -> Self {
        Self { name, help }
    }

    /// One unlabelled sample.
    pub(super) fn value(
        self,
        enc: &mut DescriptorEncoder<'_>,
        v: impl EncodeGaugeValue,
    ) -> std::fmt::Result {
        let metric = ConstGauge::new(v);
        metric.encode(enc.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?)
    }

    /// One sample per value of `label`.
    pub(super) fn by<'l>(
        self,
        enc: &mut DescriptorEncoder<'_>,
        label: &'static str,
        samples: impl IntoIterator<Item = (&'l str, u64)>,
    ) -> std::fmt::Result {
        let samples = samples.into_iter().map(|(l, v)| (l, ConstGauge::new(v)));
        labelled(
            enc,
            (self.name, self.help, MetricType::Gauge),
            label,
            samples,
        )
    }

    /// One sample per pair of values of two labels.
    pub(super) fn by_pair<'l>(
        self,
        enc: &mut DescriptorEncoder<'_>,
        labels: (&'static str, &'static str),
        samples: impl IntoIterator<Item = ((&'l str, &'l str), u64)>,
    ) -> std::fmt::Result {
        let mut family = enc.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?;
        for ((a, b), v) in samples {
            ConstGauge::new(v).encode(family.encode_family(&[(labels.0, a), (labels.1, b)])?)?;
        }
        Ok(())
    }
}

/// A histogram family with one `label`: per value, the per-bucket counts as
/// `(upper bound, count)` with `f64::MAX` for `+Inf`, the total count and the sum.
pub(super) fn histogram<'l>(
    enc: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    label: &'static str,
    samples: impl IntoIterator<Item = (&'l str, Vec<(f64, u64)>, u64, f64)>,
) -> std::fmt::Result {
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (value, buckets, count, sum) in samples {
        family
            .encode_family(&[(label, value)])?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prometheus_client::{collector::Collector, encoding::text::encode, registry::Registry};

    use super::*;

    #[derive(Debug)]
    struct Sample;

    impl Collector for Sample {
        fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
            Counter::new("demo_requests_total", "Requests.").by(
                &mut enc,
                "topic",
                [("indices", 3), ("prices", 4)],
            )?;
            Gauge::new("demo_state", "State.").by_pair(
                &mut enc,
                ("topic", "state"),
                [(("indices", "ok"), 1)],
            )?;
            histogram(
                &mut enc,
                "demo_seconds",
                "Durations.",
                "topic",
                [("prices", vec![(0.1, 2), (1.0, 1), (f64::MAX, 1)], 4, 2.5)],
            )
        }
    }

    #[test]
    fn families_encode_as_openmetrics() {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Sample));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "# TYPE demo_requests counter",
            "demo_requests_total{topic=\"indices\"} 3",
            "demo_requests_total{topic=\"prices\"} 4",
            "demo_state{topic=\"indices\",state=\"ok\"} 1",
            "# TYPE demo_seconds histogram",
            "demo_seconds_bucket{le=\"0.1\",topic=\"prices\"} 2",
            "demo_seconds_bucket{le=\"1.0\",topic=\"prices\"} 3",
            "demo_seconds_bucket{le=\"+Inf\",topic=\"prices\"} 4",
            "demo_seconds_count{topic=\"prices\"} 4",
            "demo_seconds_sum{topic=\"prices\"} 2.5",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
